// Komek workspace page: agents and supervisors. Plain JavaScript, no build step, no external assets;
// the staff pages' shared helpers come from /staff.js (libs/web/assets/staff.js). Everything that
// comes from the server is put on the page as text (textContent), never as HTML.
'use strict';

(() => {
  const {
    LANGS, CATEGORIES, $, t, label, el, setText, listOrNone, fillSelect, fillCodes, fmtTime, fmtDate, fmtTenge,
    fmtSpan, secondsUntil, snippet, flash, api, showError, busy, saveSession: keepSession, restoreSession,
    showSignedIn, signedOut,
  } = Staff;

  // ---------------------------------------------------------------------------------------------
  // Interface strings of this page (the shared ones are in /staff.js): each key with its
  // translations.
  // ---------------------------------------------------------------------------------------------
  const I18N = {
    app_subtitle: { kk: 'жұмыс орны', ru: 'рабочее место', en: 'workspace' },
    staff_only: { kk: 'Бұл бет операторлар мен супервайзерлерге арналған', ru: 'Эта страница для операторов и супервайзеров', en: 'This page is for agents and supervisors' },
    tab_work: { kk: 'Жұмыс', ru: 'Работа', en: 'Work' },
    tab_supervise: { kk: 'Бақылау', ru: 'Контроль', en: 'Supervision' },
    role_agent: { kk: 'оператор', ru: 'оператор', en: 'agent' },
    role_supervisor: { kk: 'супервайзер', ru: 'супервайзер', en: 'supervisor' },
    level: { kk: '{n}-деңгей', ru: 'уровень {n}', en: 'level {n}' },
    presence: { kk: 'Күйім', ru: 'Мой статус', en: 'My status' },
    presence_online: { kk: 'Желіде', ru: 'В сети', en: 'Online' },
    presence_away: { kk: 'Уақытша жоқ', ru: 'Отошёл', en: 'Away' },
    presence_offline: { kk: 'Желіден тыс', ru: 'Не в сети', en: 'Offline' },
    presence_unknown: { kk: 'белгісіз', ru: 'неизвестно', en: 'unknown' },
    handed_back: { kk: 'Кезекке қайтарылды: {list}', ru: 'Возвращены в очередь: {list}', en: 'Given back to the queue: {list}' },
    offers: { kk: 'Ұсыныстар', ru: 'Предложения', en: 'Offers' },
    no_offers: { kk: 'Ұсыныс жоқ', ru: 'Нет предложений', en: 'No offers' },
    decline: { kk: 'Бас тарту', ru: 'Отклонить', en: 'Decline' },
    expires_in: { kk: '{s} с қалды', ru: 'осталось {s} с', en: '{s} s left' },
    expired: { kk: 'мерзімі өтті', ru: 'истекло', en: 'expired' },
    queue: { kk: 'Кезек', ru: 'Очередь', en: 'Waiting queue' },
    waiting_total: { kk: 'Күтуде: {n}', ru: 'Ожидают: {n}', en: 'Waiting: {n}' },
    take_next: { kk: 'Келесісін алу', ru: 'Взять следующее', en: 'Take next' },
    nothing_waits: { kk: 'Сізге лайық өтініш кезекте жоқ', ru: 'Подходящих обращений в очереди нет', en: 'Nothing in the queue fits you' },
    mine: { kk: 'Менің өтініштерім', ru: 'Мои обращения', en: 'My requests' },
    search: { kk: 'Іздеу', ru: 'Поиск', en: 'Search' },
    ph_number: { kk: 'Өтініш нөмірі', ru: 'Номер обращения', en: 'Request number' },
    ph_phone: { kk: 'Телефон', ru: 'Телефон', en: 'Phone' },
    ph_words: { kk: 'Сөздер', ru: 'Слова', en: 'Words' },
    any_status: { kk: 'Кез келген күй', ru: 'Любой статус', en: 'Any status' },
    found: { kk: 'Табылды: {n}', ru: 'Найдено: {n}', en: 'Found: {n}' },
    live_feed: { kk: 'Оқиғалар', ru: 'События', en: 'Events' },
    no_request_open: { kk: 'Тізімнен өтінішті ашыңыз.', ru: 'Откройте обращение из списка.', en: 'Open a request from the lists.' },
    request: { kk: 'Өтініш', ru: 'Обращение', en: 'Request' },
    status: { kk: 'Күйі', ru: 'Статус', en: 'Status' },
    priority: { kk: 'Басымдық', ru: 'Приоритет', en: 'Priority' },
    language: { kk: 'Тілі', ru: 'Язык', en: 'Language' },
    channel: { kk: 'Арна', ru: 'Канал', en: 'Channel' },
    owner: { kk: 'Жауапты', ru: 'Ответственный', en: 'Owner' },
    created: { kk: 'Түскені', ru: 'Создано', en: 'Created' },
    due_first: { kk: 'Алғашқы жауап мерзімі', ru: 'Срок первого ответа', en: 'First response due' },
    due_resolution: { kk: 'Шешу мерзімі', ru: 'Срок решения', en: 'Resolution due' },
    escalation: { kk: 'Бөлімге жіберілген', ru: 'Эскалация', en: 'Escalated to' },
    cust_language: { kk: 'Қызмет көрсету тілі', ru: 'Язык обслуживания', en: 'Language' },
    services: { kk: 'Қосылған қызметтер', ru: 'Подключённые услуги', en: 'Active services' },
    payments: { kk: 'Соңғы төлемдер', ru: 'Последние платежи', en: 'Recent payments' },
    since: { kk: '{date} бастап', ru: 'с {date}', en: 'since {date}' },
    per_month: { kk: '{amount}/ай', ru: '{amount}/мес.', en: '{amount}/month' },
    free: { kk: 'тегін', ru: 'бесплатно', en: 'free' },
    seg_mass: { kk: 'Жаппай', ru: 'Массовый', en: 'Mass market' },
    seg_vip: { kk: 'VIP', ru: 'VIP', en: 'VIP' },
    seg_business: { kk: 'Бизнес', ru: 'Бизнес', en: 'Business' },
    seg_youth: { kk: 'Жастар', ru: 'Молодёжный', en: 'Youth' },
    other_requests: { kk: 'Клиенттің басқа өтініштері', ru: 'Другие обращения клиента', en: "The customer's other requests" },
    similar: { kk: 'Ұқсас шешілген өтініштер', ru: 'Похожие решённые обращения', en: 'Similar resolved requests' },
    shared_words: { kk: 'ортақ сөз: {n}', ru: 'общих слов: {n}', en: 'shared words: {n}' },
    customer_wrote: { kk: 'Клиент', ru: 'Клиент', en: 'Customer' },
    notes: { kk: 'Ішкі жазбалар', ru: 'Внутренние заметки', en: 'Internal notes' },
    history: { kk: 'Тарих', ru: 'История', en: 'History' },
    reply: { kk: 'Жауап', ru: 'Ответ', en: 'Reply' },
    template: { kk: 'Үлгі', ru: 'Шаблон', en: 'Template' },
    choose_template: { kk: '— үлгіні таңдаңыз —', ru: '— выберите шаблон —', en: '— choose a template —' },
    no_templates: { kk: '— үлгі жоқ —', ru: '— нет шаблонов —', en: '— no templates —' },
    wait_for_customer: { kk: 'Клиенттің жауабын күту (мерзім тоқтатылады)', ru: 'Ждать ответа клиента (срок на паузе)', en: "Wait for the customer's answer (the clock stops)" },
    send_reply: { kk: 'Жауап жіберу', ru: 'Отправить ответ', en: 'Send reply' },
    note: { kk: 'Ішкі жазба', ru: 'Внутренняя заметка', en: 'Internal note' },
    add_note: { kk: 'Жазба қосу', ru: 'Добавить заметку', en: 'Add note' },
    escalate: { kk: 'Бөлімге жіберу', ru: 'Эскалировать', en: 'Escalate' },
    resolve: { kk: 'Шешілді', ru: 'Решить', en: 'Resolve' },
    sent: { kk: 'Жіберілді', ru: 'Отправлено', en: 'Sent' },
    saved: { kk: 'Сақталды', ru: 'Сохранено', en: 'Saved' },
    deleted: { kk: 'Жойылды', ru: 'Удалено', en: 'Deleted' },
    accepted: { kk: '{number} өтініші сізде', ru: 'Обращение {number} ваше', en: '{number} is yours' },
    declined: { kk: '{number} ұсынысынан бас тарттыңыз', ru: 'Вы отклонили {number}', en: 'You declined {number}' },
    updated_at: { kk: 'Жаңартылды: {t}', ru: 'Обновлено: {t}', en: 'Updated: {t}' },
    sv_agents: { kk: 'Операторлар', ru: 'Операторы', en: 'Agents' },
    sv_agent: { kk: 'Оператор', ru: 'Оператор', en: 'Agent' },
    sv_presence: { kk: 'Күйі', ru: 'Статус', en: 'Presence' },
    sv_load: { kk: 'Жүктеме', ru: 'Нагрузка', en: 'Load' },
    sv_languages: { kk: 'Тілдері', ru: 'Языки', en: 'Languages' },
    sv_categories: { kk: 'Санаттары', ru: 'Категории', en: 'Categories' },
    sv_queues: { kk: 'Кезектер', ru: 'Очереди', en: 'Queues' },
    sv_waiting: { kk: 'Күтуде', ru: 'Ожидают', en: 'Waiting' },
    sv_oldest: { kk: 'Ең ұзақ күткені', ru: 'Дольше всех ждёт', en: 'Oldest' },
    sv_watch: { kk: 'Мерзімді бақылау тізімі', ru: 'Контроль сроков', en: 'Deadline watch list' },
    sv_reassign: { kk: 'Басқа операторға беру', ru: 'Переназначить', en: 'Reassign' },
    sv_request_number: { kk: 'Өтініш нөмірі', ru: 'Номер обращения', en: 'Request number' },
    sv_no_queues: { kk: 'Кезек бос', ru: 'Очереди пусты', en: 'The queues are empty' },
    sv_no_watch: { kk: 'Мерзімі бұзылған өтініш жоқ', ru: 'Просроченных обращений нет', en: 'No request has breached a deadline' },
    reassigned: { kk: '{number} енді {agent} операторында', ru: '{number} теперь у {agent}', en: '{number} now belongs to {agent}' },
    not_found: { kk: 'Табылмады', ru: 'Не найдено', en: 'Not found' },
    tpl_title: { kk: 'Жауап үлгілері', ru: 'Шаблоны ответов', en: 'Reply templates' },
    tpl_new: { kk: 'Жаңа үлгі', ru: 'Новый шаблон', en: 'New template' },
    tpl_edit: { kk: 'Үлгіні өзгерту', ru: 'Изменить шаблон', en: 'Edit template' },
    tpl_name: { kk: 'Атауы', ru: 'Название', en: 'Name' },
    tpl_body: { kk: 'Мәтіні', ru: 'Текст', en: 'Text' },
    tpl_updated: { kk: 'Өзгертілген', ru: 'Изменён', en: 'Updated' },
    tpl_placeholders: { kk: 'Толтырғыштар: {customer_name}, {number}, {deadline}', ru: 'Подстановки: {customer_name}, {number}, {deadline}', en: 'Placeholders: {customer_name}, {number}, {deadline}' },
    save: { kk: 'Сақтау', ru: 'Сохранить', en: 'Save' },
    delete: { kk: 'Жою', ru: 'Удалить', en: 'Delete' },
    cancel: { kk: 'Болдырмау', ru: 'Отмена', en: 'Cancel' },
    edit: { kk: 'Өзгерту', ru: 'Изменить', en: 'Edit' },
    all: { kk: 'Барлығы', ru: 'Все', en: 'All' },
    st_new: { kk: 'Жаңа', ru: 'Новое', en: 'New' },
    st_queued: { kk: 'Кезекте', ru: 'В очереди', en: 'Queued' },
    st_assigned: { kk: 'Тағайындалды', ru: 'Назначено', en: 'Assigned' },
    st_in_progress: { kk: 'Жұмыста', ru: 'В работе', en: 'In progress' },
    st_waiting_customer: { kk: 'Клиентті күтуде', ru: 'Ждёт клиента', en: 'Waiting for customer' },
    st_escalated: { kk: 'Бөлімде', ru: 'Эскалировано', en: 'Escalated' },
    st_resolved: { kk: 'Шешілді', ru: 'Решено', en: 'Resolved' },
    st_closed: { kk: 'Жабық', ru: 'Закрыто', en: 'Closed' },
    st_reopened: { kk: 'Қайта ашылды', ru: 'Переоткрыто', en: 'Reopened' },
    pr_low: { kk: 'Төмен', ru: 'Низкий', en: 'Low' },
    pr_normal: { kk: 'Қалыпты', ru: 'Обычный', en: 'Normal' },
    pr_high: { kk: 'Жоғары', ru: 'Высокий', en: 'High' },
    pr_urgent: { kk: 'Шұғыл', ru: 'Срочный', en: 'Urgent' },
    cat_network: { kk: 'Байланыс сапасы', ru: 'Качество связи', en: 'Network' },
    ch_web: { kk: 'Сайт', ru: 'Сайт', en: 'Web' },
    ch_call_center: { kk: 'Байланыс орталығы', ru: 'Колл-центр', en: 'Call centre' },
    ch_front_office: { kk: 'Қызмет көрсету орталығы', ru: 'Офис обслуживания', en: 'Front office' },
    ch_email: { kk: 'Эл. пошта', ru: 'Эл. почта', en: 'Email' },
    ch_sms: { kk: 'SMS', ru: 'SMS', en: 'SMS' },
    kind_reply: { kk: 'Жауап', ru: 'Ответ', en: 'Reply' },
    act_created: { kk: 'Қабылданды', ru: 'Принято', en: 'Created' },
    act_queued: { kk: 'Кезекке қойылды', ru: 'Поставлено в очередь', en: 'Queued' },
    act_offered: { kk: 'Ұсынылды', ru: 'Предложено', en: 'Offered' },
    act_offer_declined: { kk: 'Ұсыныстан бас тартылды', ru: 'Предложение отклонено', en: 'Offer declined' },
    act_offer_expired: { kk: 'Ұсыныс мерзімі өтті', ru: 'Предложение истекло', en: 'Offer expired' },
    act_assigned: { kk: 'Тағайындалды', ru: 'Назначено', en: 'Assigned' },
    act_replied: { kk: 'Жауап берілді', ru: 'Ответ отправлен', en: 'Replied' },
    act_note_added: { kk: 'Жазба қосылды', ru: 'Добавлена заметка', en: 'Note added' },
    act_escalated: { kk: 'Бөлімге жіберілді', ru: 'Эскалировано', en: 'Escalated' },
    act_escalation_answered: { kk: 'Бөлім жауап берді', ru: 'Ответ отдела', en: 'Department answered' },
    act_resolved: { kk: 'Шешілді', ru: 'Решено', en: 'Resolved' },
    act_reopened: { kk: 'Қайта ашылды', ru: 'Переоткрыто', en: 'Reopened' },
    act_handed_back: { kk: 'Кезекке қайтарылды', ru: 'Возвращено в очередь', en: 'Given back to the queue' },
    act_reassigned: { kk: 'Басқа операторға берілді', ru: 'Переназначено', en: 'Reassigned' },
    act_deadline_warning: { kk: 'Мерзім жақындады', ru: 'Срок подходит', en: 'Deadline near' },
    act_deadline_breached: { kk: 'Мерзім бұзылды', ru: 'Срок нарушен', en: 'Deadline breached' },
    act_survey_answered: { kk: 'Сауалнамаға жауап берілді', ru: 'Ответ на опрос', en: 'Survey answered' },
    act_asked_customer: { kk: 'Клиенттен сұралды', ru: 'Запрос клиенту', en: 'Asked the customer' },
    ev_offer_made: { kk: 'Жаңа ұсыныс', ru: 'Новое предложение', en: 'New offer' },
    ev_offer_expired: { kk: 'Ұсыныс мерзімі өтті', ru: 'Предложение истекло', en: 'Offer expired' },
    ev_offer_declined: { kk: 'Ұсыныстан бас тартылды', ru: 'Предложение отклонено', en: 'Offer declined' },
    ev_request_assigned: { kk: 'Тағайындалды', ru: 'Назначено', en: 'Assigned' },
    ev_request_reassigned: { kk: 'Басқа операторға берілді', ru: 'Переназначено', en: 'Reassigned' },
    ev_request_escalation_returned: { kk: 'Бөлімнен жауап келді', ru: 'Ответ отдела', en: 'Department answered' },
    ev_request_reopened: { kk: 'Қайта ашылды', ru: 'Переоткрыто', en: 'Reopened' },
    ev_deadline_warning: { kk: 'Мерзім жақындады', ru: 'Срок подходит', en: 'Deadline near' },
    ev_deadline_breached: { kk: 'Мерзім бұзылды', ru: 'Срок нарушен', en: 'Deadline breached' },
    ev_request_queued: { kk: 'Кезекке түсті', ru: 'В очереди', en: 'Queued' },
    ev_request_replied: { kk: 'Жауап берілді', ru: 'Ответ отправлен', en: 'Replied' },
    ev_request_resolved: { kk: 'Шешілді', ru: 'Решено', en: 'Resolved' },
    ev_request_escalated: { kk: 'Бөлімге жіберілді', ru: 'Эскалировано', en: 'Escalated' },
    ev_request_note_added: { kk: 'Жазба қосылды', ru: 'Добавлена заметка', en: 'Note added' },
    ev_request_handed_back: { kk: 'Кезекке қайтарылды', ru: 'Возвращено в очередь', en: 'Given back to the queue' },
    done_replies: { kk: 'Жауап жіберілді', ru: 'Ответ отправлен', en: 'Reply sent' },
    done_notes: { kk: 'Жазба сақталды', ru: 'Заметка сохранена', en: 'Note saved' },
    done_escalations: { kk: 'Бөлімге жіберілді', ru: 'Передано в отдел', en: 'Escalated' },
    done_resolve: { kk: 'Өтініш шешілді', ru: 'Обращение решено', en: 'Request resolved' },
    ev_request_created: { kk: 'Жаңа өтініш', ru: 'Новое обращение', en: 'New request' },
    ev_survey_created: { kk: 'Сауалнама жіберілді', ru: 'Опрос отправлен', en: 'Survey sent' },
    ev_survey_answered: { kk: 'Сауалнамаға жауап берілді', ru: 'Ответ на опрос', en: 'Survey answered' },
    deadline_alert: { kk: '{number}: {what}', ru: '{number}: {what}', en: '{number}: {what}' },
    dept_asks: { kk: 'Бөлім сұрайды', ru: 'Отдел спрашивает', en: 'Department asks' },
    send_info: { kk: 'Бөлімге жауап беру', ru: 'Ответить отделу', en: 'Answer the department' },
    done_info: { kk: 'Жауап бөлімге жіберілді', ru: 'Ответ отправлен в отдел', en: 'Answer sent to the department' },
    problem: { kk: 'Мәселе', ru: 'Проблема', en: 'Problem' },
    link_problem: { kk: 'Мәселеге байланыстыру', ru: 'Привязать к проблеме', en: 'Link to the problem' },
    choose_problem: { kk: 'Мәселені таңдаңыз', ru: 'Выберите проблему', en: 'Choose a problem' },
    done_problem: { kk: 'Мәселеге байланыстырылды', ru: 'Привязано к проблеме', en: 'Linked to the problem' },
    act_escalation_info_requested: { kk: 'Бөлім ақпарат сұрады', ru: 'Отдел запросил информацию', en: 'Department asked for information' },
    act_escalation_info_given: { kk: 'Бөлімге ақпарат берілді', ru: 'Информация передана отделу', en: 'Information given to the department' },
    act_escalation_accepted: { kk: 'Бөлім қабылдады', ru: 'Отдел принял', en: 'Department accepted' },
    act_escalation_rerouted: { kk: 'Басқа бөлімге жіберілді', ru: 'Передано в другой отдел', en: 'Rerouted to another department' },
    act_escalation_breached: { kk: 'Бөлім мерзімі бұзылды', ru: 'Срок отдела нарушен', en: 'Department deadline breached' },
    act_escalation_flagged: { kk: 'Бөлімдер арасында айналды', ru: 'Пересылалось между отделами', en: 'Bounced between departments' },
    act_problem_linked: { kk: 'Мәселеге байланыстырылды', ru: 'Привязано к проблеме', en: 'Linked to a problem' },
    act_problem_unlinked: { kk: 'Мәселеден ажыратылды', ru: 'Отвязано от проблемы', en: 'Unlinked from a problem' },
    act_resolved_by_problem: { kk: 'Мәселемен бірге шешілді', ru: 'Решено вместе с проблемой', en: 'Resolved with its problem' },
    problems: { kk: 'Мәселелер', ru: 'Проблемы', en: 'Problems' },
    pb_number: { kk: 'Нөмірі', ru: 'Номер', en: 'Number' },
    pb_title: { kk: 'Атауы', ru: 'Название', en: 'Title' },
    pb_linked: { kk: 'Байланысқан өтініштер', ru: 'Привязано обращений', en: 'Linked requests' },
    no_problems: { kk: 'Ашық мәселе жоқ', ru: 'Открытых проблем нет', en: 'No open problems' },
    pst_candidate: { kk: 'Расталмаған', ru: 'Не подтверждена', en: 'Candidate' },
    pst_open: { kk: 'Ашық', ru: 'Открыта', en: 'Open' },
    pst_resolved: { kk: 'Шешілді', ru: 'Решена', en: 'Resolved' },
    pst_dismissed: { kk: 'Қабылданбады', ru: 'Отклонена', en: 'Dismissed' },
    spike_heading: { kk: 'Өтініштер кенет көбейді', ru: 'Всплеск обращений', en: 'Spike detected' },
    spike_show: { kk: 'Мәселелерді көрсету', ru: 'Показать проблемы', en: 'Show the problems' },
    spike_flash: { kk: 'Өтініштер кенет көбейді, жаңа мәселе {number}: {title}', ru: 'Всплеск обращений, новая проблема {number}: {title}', en: 'Spike detected, new candidate problem {number}: {title}' },
    spike_text: {
      kk: '{region} өңірінде {minutes} минутта «{category}» бойынша {count} өтініш (әдетте {mean})',
      ru: '{count} обращений «{category}» в регионе {region} за {minutes} мин (обычно {mean})',
      en: '{count} requests ({category}) in {region} in {minutes} min (usual {mean})',
    },
    spike_text_national: {
      kk: '{minutes} минутта «{category}» бойынша {count} өтініш (әдетте {mean})',
      ru: '{count} обращений «{category}» за {minutes} мин (обычно {mean})',
      en: '{count} requests ({category}) in {minutes} min (usual {mean})',
    },
    ev_problem_opened: { kk: 'Мәселе ашылды', ru: 'Открыта проблема', en: 'Problem opened' },
    ev_problem_confirmed: { kk: 'Мәселе расталды', ru: 'Проблема подтверждена', en: 'Problem confirmed' },
    ev_problem_dismissed: { kk: 'Мәселе қабылданбады', ru: 'Проблема отклонена', en: 'Problem dismissed' },
    ev_problem_resolved: { kk: 'Мәселе шешілді', ru: 'Проблема решена', en: 'Problem resolved' },
    ev_problem_linked: { kk: 'Мәселеге байланыстырылды', ru: 'Привязано к проблеме', en: 'Linked to a problem' },
    ev_problem_unlinked: { kk: 'Мәселеден ажыратылды', ru: 'Отвязано от проблемы', en: 'Unlinked from a problem' },
  };
  const STATUSES = ['new', 'queued', 'assigned', 'in_progress', 'waiting_customer', 'escalated', 'resolved', 'closed', 'reopened'];
  const CLOSED = new Set(['resolved', 'closed']);

  // ---------------------------------------------------------------------------------------------
  // State
  // ---------------------------------------------------------------------------------------------
  const state = {
    lang: 'en',
    token: null,
    user: null,
    expiresAt: 0,
    presence: null,
    tab: 'work',
    queue: null,
    offers: [],
    offerExpiry: new Map(), // request id -> ms since epoch, from offer.made pushes
    current: null, // id of the open request
    view: null, // {request, history, templates, similar, customer, others}
    departments: [],
    sv: null,
    templates: [],
    tplEditing: null, // template id being edited, or '' for a new one
    problems: null, // open and candidate problems (supervisors)
    knownProblems: null, // ids of the problems loaded before (a new candidate among them is announced)
    spikeAlerts: [], // [{id, number, title}], newest first: candidates spike detection opened
    searchResult: null,
    searchParams: null,
    feed: [],
    live: null, // the live connection (Staff.live)
  };

  /** After the language changed: the selects whose options are codes, and everything drawn from data. */
  function onLang() {
    fillCodes($('search-status'), STATUSES, 'st_', t('any_status'));
    fillCodes($('tpl-filter-category'), CATEGORIES, 'cat_', t('all'));
    fillCodes($('tpl-filter-language'), LANGS, 'lang_', t('all'));
    fillCodes($('tpl-category'), CATEGORIES, 'cat_');
    fillCodes($('tpl-language'), LANGS, 'lang_');
    renderAll();
  }

  function renderAll() {
    if (!state.user) return;
    renderWhoami();
    renderPresence();
    renderOffers();
    renderQueue();
    renderSearch();
    renderFeed();
    renderDepartments();
    if (state.view) renderRequest(false);
    if (isSupervisor()) {
      renderSupervisor();
      renderProblems();
      renderTemplates();
      renderTemplateForm();
    }
    renderSpikeAlert();
  }

  // ---------------------------------------------------------------------------------------------
  // Session
  // ---------------------------------------------------------------------------------------------
  const isSupervisor = () => state.user && state.user.role === 'supervisor';
  const me = () => (state.user ? state.user.login : null);
  /** The session is kept with its expiry (the live socket is not reopened after it) and presence. */
  const saveSession = () => keepSession({ expiresAt: state.expiresAt, presence: state.presence });

  function signedIn(ok) {
    state.expiresAt = Date.parse(ok.expires_at) || Date.now() + 3600e3;
    state.presence = null;
    saveSession();
    enterApp();
  }

  function resumeSession() {
    const saved = restoreSession((s) => s.expiresAt > Date.now());
    if (!saved) return false;
    state.expiresAt = saved.expiresAt;
    state.presence = saved.presence || null;
    return true;
  }

  function enterApp() {
    showSignedIn(true);
    $('tabs').hidden = !isSupervisor();
    showTab(isSupervisor() ? 'supervise' : 'work');
    renderAll();
    state.live = Staff.live({ onNote, onOpen: refreshAll, expired: () => Date.now() >= state.expiresAt });
    refreshAll();
  }

  /** Leaves the signed-in state locally (the token is forgotten; the socket closed). */
  function endSession(message) {
    if (state.live) state.live.stop();
    state.live = null;
    batch.cancel();
    Object.assign(state, {
      expiresAt: 0, presence: null, queue: null, offers: [], current: null, view: null,
      sv: null, templates: [], tplEditing: null, searchResult: null, searchParams: null, feed: [],
      problems: null, knownProblems: null, spikeAlerts: [],
    });
    state.offerExpiry.clear();
    for (const id of ['offers-list', 'queue-list', 'mine-list', 'search-results', 'live-feed', 'sv-agents',
      'sv-queues', 'sv-watchlist', 'sv-problems', 'spike-alert-list', 'tpl-list', 'reassign-agent']) {
      $(id).replaceChildren();
    }
    for (const id of ['reply-text', 'note-text', 'esc-reason', 'resolution-text', 'reassign-request', 'search-number',
      'search-phone', 'search-words']) {
      $(id).value = '';
    }
    $('search-total').textContent = '';
    $('reassign-result').textContent = '';
    $('tpl-form').hidden = true;
    $('spike-alert').hidden = true;
    showRequestPanel(false);
    signedOut(message);
    $('login-login').focus();
  }

  async function signOut() {
    // An agent who leaves stops getting offers.
    if (state.user && state.user.role === 'agent' && state.presence !== 'offline') {
      try { await api('PUT', '/api/v1/presence', { state: 'offline' }); } catch (_) { /* leaving anyway */ }
    }
    endSession('');
  }

  function renderWhoami() {
    if (!state.user) return;
    $('whoami').textContent = `${state.user.name} (${state.user.login}, ${label('role_', state.user.role)})`;
  }

  function showTab(tab) {
    state.tab = isSupervisor() ? tab : 'work';
    $('work-view').hidden = state.tab !== 'work';
    $('super-view').hidden = state.tab !== 'supervise';
    for (const b of document.querySelectorAll('#tabs [data-tab]')) {
      b.setAttribute('aria-pressed', String(b.dataset.tab === state.tab));
    }
    if (state.tab === 'supervise') schedule('sv', 'problems', 'templates');
  }

  // ---------------------------------------------------------------------------------------------
  // Refreshing: every panel reloads from the API when a push says it changed.
  // ---------------------------------------------------------------------------------------------
  const LOADERS = {
    queue: () => loadQueue(),
    offers: () => loadOffers(),
    request: () => (state.current ? loadRequest(state.current, false) : null),
    sv: () => (isSupervisor() ? loadSupervisor() : null),
    problems: () => (isSupervisor() ? loadProblems() : null),
    templates: () => (isSupervisor() ? loadTemplates() : null),
    departments: () => loadDepartments(),
    search: () => (state.searchParams ? runSearch() : null),
  };

  const batch = Staff.batcher(LOADERS, 120);
  /** Reloads the named panels soon, once for a burst of pushes. */
  const schedule = (...names) => batch.schedule(...names);

  function refreshAll() {
    schedule('queue', 'offers', 'departments', 'request', 'sv', 'problems', 'templates');
  }

  // ---------------------------------------------------------------------------------------------
  // Live updates (the socket itself is Staff.live's)
  // ---------------------------------------------------------------------------------------------
  /** Events the workspace applies when they arrive from another service (not its own changes). */
  const APPLIED_LATER = /^(escalation\.|problem\.|request\.customer_message|request\.linked|survey\.answered|notification\.)/;

  function onNote(note) {
    const type = String(note.type || '');
    state.feed.unshift({ at: new Date().toISOString(), ...note });
    state.feed.length = Math.min(state.feed.length, 20);
    renderFeed();
    const payload = note.payload && typeof note.payload === 'object' ? note.payload : {};
    if (type === 'offer.made' && payload.agent === me() && payload.expires_at) {
      const at = Date.parse(payload.expires_at);
      if (!Number.isNaN(at)) state.offerExpiry.set(note.request_id, at);
    }
    if (type.startsWith('offer.')) schedule('offers');
    schedule('queue');
    if (note.request_id && note.request_id === state.current) {
      schedule('request');
      // Another service's event reaches the live feed while this service's consumer may still be
      // applying it to the request: look again a moment later so the view does not stay stale.
      if (APPLIED_LATER.test(type)) {
        const id = note.request_id;
        setTimeout(() => { if (state.current === id) schedule('request'); }, 1500);
      }
    }
    if (state.searchResult && state.searchResult.items.some((r) => r.id === note.request_id)) schedule('search');
    if (isSupervisor()) schedule('sv');
    if (isSupervisor() && type.startsWith('problem.')) schedule('problems');
    // Spike detection opened a candidate problem: every supervisor is told at once.
    if (isSupervisor() && type === 'problem.opened' && payload.detail === 'candidate' && payload.problem_id) {
      announceSpike({ id: String(payload.problem_id), number: String(payload.number || ''), title: String(payload.title || '') });
    }
    if (type.startsWith('deadline.') && note.owner === me()) {
      flash(t('deadline_alert', { number: note.number || '', what: label('ev_', type) }), 'warn');
    }
    if ((type === 'request.reassigned' || type === 'request.escalation_returned' || type === 'request.reopened')
      && note.owner === me()) {
      flash(`${label('ev_', type)}: ${note.number || ''}`, 'info');
    }
  }

  function renderFeed() {
    const problemOf = (n) => (String(n.type || '').startsWith('problem.') && n.payload && n.payload.number
      ? el('span', { className: 'muted', text: ' · ' + String(n.payload.number) }) : '');
    const items = state.feed.map((n) => el('li', { testid: 'feed-item', data: { type: n.type || '' } },
      el('time', { text: fmtTime(n.at) }), ' ',
      el('strong', { text: label('ev_', n.type) }), ' ',
      n.number ? openLink(n.request_id, n.number) : '',
      n.status ? el('span', { className: 'muted', text: ' · ' + label('st_', n.status) }) : '',
      problemOf(n)));
    $('live-feed').replaceChildren(...items);
  }

  // ---------------------------------------------------------------------------------------------
  // Presence
  // ---------------------------------------------------------------------------------------------
  async function setPresence(value, button) {
    await busy(button, async () => {
      const out = await api('PUT', '/api/v1/presence', { state: value });
      state.presence = out.state;
      saveSession();
      renderPresence();
      if (Array.isArray(out.handed_back) && out.handed_back.length) {
        flash(t('handed_back', { list: out.handed_back.join(', ') }), 'info');
      }
      schedule('queue', 'offers');
    });
  }

  function renderPresence() {
    for (const b of document.querySelectorAll('#presence [data-presence]')) {
      b.setAttribute('aria-pressed', String(b.dataset.presence === state.presence));
    }
    $('presence-card').dataset.state = state.presence || 'unknown';
  }

  // ---------------------------------------------------------------------------------------------
  // Offers
  // ---------------------------------------------------------------------------------------------
  async function loadOffers() {
    state.offers = (await api('GET', '/api/v1/offers')) || [];
    const live = new Set(state.offers.map((r) => r.id));
    for (const id of [...state.offerExpiry.keys()]) if (!live.has(id)) state.offerExpiry.delete(id);
    renderOffers();
  }

  function renderOffers() {
    $('offers-count').textContent = String(state.offers.length);
    if (!state.offers.length) {
      $('offers-list').replaceChildren(el('li', { className: 'muted', text: t('no_offers') }));
      return;
    }
    const items = state.offers.map((r) => {
      const expiry = state.offerExpiry.get(r.id);
      const accept = el('button', { type: 'button', className: 'primary', testid: 'offer-accept', text: t('accept') });
      const decline = el('button', { type: 'button', testid: 'offer-decline', text: t('decline') });
      accept.addEventListener('click', () => acceptOffer(r, accept));
      decline.addEventListener('click', () => declineOffer(r, decline));
      return el('li', { className: 'offer', testid: 'offer', data: { requestId: r.id, number: r.number } },
        el('div', { className: 'line' },
          el('strong', { text: r.number }), ' ',
          el('span', { className: 'pill', data: { priority: r.priority }, text: label('pr_', r.priority) }), ' ',
          el('span', { className: 'muted', text: `${label('cat_', r.category)} · ${label('lang_', r.language)}` })),
        el('div', { className: 'snippet', text: snippet(r.subject || r.text, 120) }),
        el('div', { className: 'line' },
          el('span', { className: 'countdown', testid: 'offer-countdown', data: { expires: expiry || '' } }),
          accept, decline));
    });
    $('offers-list').replaceChildren(...items);
    tickCountdowns();
  }

  function tickCountdowns() {
    for (const node of document.querySelectorAll('.countdown')) {
      const at = Number(node.dataset.expires);
      if (!at) {
        node.textContent = '';
        continue;
      }
      const left = Math.ceil(secondsUntil(at));
      node.textContent = left > 0 ? t('expires_in', { s: left }) : t('expired');
      node.dataset.left = String(Math.max(0, left));
    }
  }

  async function acceptOffer(r, button) {
    await busy(button, async () => {
      const taken = await api('POST', `/api/v1/offers/${encodeURIComponent(r.id)}/accept`);
      flash(t('accepted', { number: taken.number }), 'ok');
      state.offerExpiry.delete(r.id);
      await Promise.all([loadOffers(), loadQueue()]);
      await openRequest(taken.id);
    });
  }

  async function declineOffer(r, button) {
    await busy(button, async () => {
      await api('POST', `/api/v1/offers/${encodeURIComponent(r.id)}/decline`);
      flash(t('declined', { number: r.number }), 'info');
      state.offerExpiry.delete(r.id);
      await loadOffers();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Queue and my requests
  // ---------------------------------------------------------------------------------------------
  async function loadQueue() {
    state.queue = await api('GET', '/api/v1/queue');
    renderQueue();
  }

  function openLink(id, number) {
    return el('a', { href: '#' + id, className: 'open', data: { requestId: id }, text: number });
  }

  function requestItem(r, testid, withOpen) {
    const kids = [
      el('div', { className: 'line' },
        openLink(r.id, r.number), ' ',
        el('span', { className: 'pill', data: { status: r.status }, text: label('st_', r.status) }), ' ',
        el('span', { className: 'pill', data: { priority: r.priority }, text: label('pr_', r.priority) })),
      el('div', { className: 'muted', text: `${label('cat_', r.category)} · ${label('lang_', r.language)} · ${fmtTime(r.created_at)}` }),
      el('div', { className: 'snippet', text: snippet(r.subject || r.text, 100) }),
    ];
    if (withOpen) {
      kids.push(el('button', { type: 'button', className: 'open', testid: testid + '-open', data: { requestId: r.id }, text: t('open') }));
    }
    const li = el('li', { testid, data: { requestId: r.id, number: r.number, status: r.status } }, ...kids);
    if (r.id === state.current) li.classList.add('current');
    return li;
  }

  function renderQueue() {
    const q = state.queue;
    if (!q) return;
    $('queue-total').textContent = t('waiting_total', { n: q.waiting_total });
    $('queue-list').replaceChildren(...(q.waiting.length
      ? q.waiting.map((r) => requestItem(r, 'queue-item', false))
      : [el('li', { className: 'muted', text: t('none') })]));
    $('mine-count').textContent = String(q.mine.length);
    $('mine-list').replaceChildren(...(q.mine.length
      ? q.mine.map((r) => requestItem(r, 'my-request', true))
      : [el('li', { className: 'muted', text: t('none') })]));
  }

  async function takeNext(button) {
    await busy(button, async () => {
      const r = await api('POST', '/api/v1/queue/next');
      if (!r) {
        flash(t('nothing_waits'), 'info');
        return;
      }
      await loadQueue();
      await openRequest(r.id);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Search
  // ---------------------------------------------------------------------------------------------
  async function search(ev) {
    ev.preventDefault();
    const params = new URLSearchParams();
    const add = (name, id) => {
      const v = $(id).value.trim();
      if (v) params.set(name, v);
    };
    add('number', 'search-number');
    add('phone', 'search-phone');
    add('words', 'search-words');
    add('status', 'search-status');
    params.set('per_page', '20');
    state.searchParams = params.toString();
    await busy($('search-send'), runSearch);
  }

  async function runSearch() {
    state.searchResult = await api('GET', '/api/v1/search?' + state.searchParams);
    renderSearch();
  }

  function renderSearch() {
    const res = state.searchResult;
    if (!res) return;
    $('search-total').textContent = t('found', { n: res.total });
    $('search-results').replaceChildren(...res.items.map((r) => requestItem(r, 'search-item', false)));
  }

  // ---------------------------------------------------------------------------------------------
  // One request
  // ---------------------------------------------------------------------------------------------
  function showRequestPanel(open) {
    $('request-empty').hidden = open;
    $('request-body').hidden = !open;
  }

  async function openRequest(id) {
    if (state.tab !== 'work') showTab('work');
    await loadRequest(id, true);
    if (window.matchMedia('(max-width: 900px)').matches) $('request-panel').scrollIntoView({ block: 'start' });
  }

  async function loadRequest(id, fresh) {
    const enc = encodeURIComponent(id);
    const view = await api('GET', `/api/v1/requests/${enc}`);
    const r = view.request;
    const [templates, similar, customer, problems] = await Promise.all([
      api('GET', `/api/v1/requests/${enc}/templates`).catch(() => []),
      api('GET', `/api/v1/requests/${enc}/similar`).catch(() => []),
      // Customer 360; null when it could not be loaded (the request's own contact is shown).
      api('GET', `/api/v1/requests/${enc}/customer`).catch(() => null),
      api('GET', '/api/v1/problems').catch(() => []),
    ]);
    const changed = state.current !== id;
    if (!fresh && changed) return; // another request was opened meanwhile
    state.current = id;
    const others = customer && Array.isArray(customer.requests) ? customer.requests.filter((x) => x.id !== r.id) : [];
    state.view = { request: r, history: view.history || [], templates: templates || [], similar: similar || [], customer, others,
      problems: problems || [] };
    // Opening the request again keeps what was typed; another request starts with empty boxes.
    renderRequest(changed);
    renderQueue();
  }

  /** One of the customer's requests, as the customer 360 view lists them (RequestSummary). */
  function customerRequestItem(o) {
    const li = el('li', { testid: 'other-request', data: { requestId: o.id, number: o.number, status: o.status } },
      el('div', { className: 'line' },
        openLink(o.id, o.number), ' ',
        el('span', { className: 'pill', data: { status: o.status }, text: label('st_', o.status) })),
      el('div', { className: 'muted', text: `${label('ch_', o.channel)} · ${fmtTime(o.created_at)}` }),
      el('div', { className: 'snippet', text: snippet(o.subject || o.snippet, 100) }));
    if (o.id === state.current) li.classList.add('current');
    return li;
  }

  function movementItem(m, testid) {
    return el('li', { testid, data: { date: m.date, amount: m.amount_tenge } },
      el('div', { className: 'line' },
        el('span', { className: 'muted', testid: testid + '-date', text: fmtDate(m.date) }), ' ',
        el('strong', { testid: testid + '-amount', text: fmtTenge(m.amount_tenge) })),
      el('div', { className: 'snippet', testid: testid + '-description', text: m.description || '—' }));
  }

  /** The customer block: the 360 profile when there is one, else the contact on the request. */
  function renderCustomer(v) {
    const c = v.request.customer || {};
    const cv = v.customer || {};
    const p = cv.profile || null;
    const box = $('customer-box');
    box.dataset.source = cv.source || 'none';
    box.dataset.degraded = String(Boolean(cv.degraded));
    const notice = $('cust-degraded');
    notice.hidden = !cv.degraded;
    if (cv.degraded && cv.degraded_reason) notice.setAttribute('title', String(cv.degraded_reason));
    else notice.removeAttribute('title');

    setText('cust-name', (p && p.name) || c.name);
    setText('cust-phone', (p && p.msisdn) || c.msisdn);
    setText('cust-email', (p && p.email) || c.email);
    setText('cust-language', p ? label('lang_', p.language) : null);
    setText('cust-segment', p && p.segment ? label('seg_', p.segment) : null);
    setText('cust-region', p && p.region);
    setText('cust-tariff', p && p.tariff);
    const balance = $('cust-balance');
    if (p && typeof p.balance_tenge === 'number') {
      balance.textContent = fmtTenge(p.balance_tenge);
      balance.dataset.tenge = String(p.balance_tenge);
      balance.dataset.negative = String(p.balance_tenge < 0);
    } else {
      balance.textContent = '—';
      delete balance.dataset.tenge;
      delete balance.dataset.negative;
    }

    listOrNone('cust-services', (cv.services || []).map((s) => el('li', { testid: 'cust-service', data: { code: s.code } },
      el('div', { className: 'line' }, el('span', { text: s.name }), ' ',
        el('span', { className: 'muted', text: s.monthly_fee_tenge ? t('per_month', { amount: fmtTenge(s.monthly_fee_tenge) }) : t('free') })),
      el('div', { className: 'muted', text: t('since', { date: fmtDate(s.since) }) }))));
    listOrNone('cust-charges', (cv.charges || []).slice(0, 5).map((m) => movementItem(m, 'cust-charge')));
    listOrNone('cust-payments', (cv.payments || []).slice(0, 5).map((m) => movementItem(m, 'cust-payment')));
    listOrNone('cust-other', v.others.map(customerRequestItem));
  }

  function renderRequest(reset) {
    const v = state.view;
    if (!v) return;
    const r = v.request;
    showRequestPanel(true);
    $('request-panel').dataset.requestId = r.id;
    setText('req-number', r.number);
    const st = $('req-status');
    st.textContent = label('st_', r.status);
    st.dataset.status = r.status;
    const pr = $('req-priority');
    pr.textContent = label('pr_', r.priority);
    pr.dataset.priority = r.priority;
    setText('req-category', label('cat_', r.category));
    setText('req-language', label('lang_', r.language));
    setText('req-channel', label('ch_', r.channel));
    setText('req-owner', r.owner);
    setText('req-created', fmtTime(r.created_at));
    setText('req-due-first', r.first_response_at ? `${fmtTime(r.due.first_response)} ✓` : fmtTime(r.due && r.due.first_response));
    setText('req-due-resolution', fmtTime(r.due && r.due.resolution));
    setText('req-escalation', r.escalation ? r.escalation.department : null);
    renderDepartmentWork(r, reset);
    $('req-due-first').dataset.overdue = String(!r.first_response_at && !CLOSED.has(r.status) && Date.parse(r.due.first_response) < Date.now());
    $('req-due-resolution').dataset.overdue = String(!CLOSED.has(r.status) && Date.parse(r.due.resolution) < Date.now());

    renderCustomer(v);

    $('similar-list').replaceChildren(...(v.similar.length
      ? v.similar.map((s) => el('li', { testid: 'similar-item', data: { requestId: s.id } },
        el('div', { className: 'line' }, openLink(s.id, s.number), ' ',
          el('span', { className: 'muted', text: t('shared_words', { n: s.score }) })),
        el('div', { className: 'snippet', text: snippet(s.subject || s.text, 140) }),
        el('div', { className: 'resolution', text: s.resolution || '—' })))
      : [el('li', { className: 'muted', text: t('none') })]));

    const thread = [el('li', { className: 'msg customer', testid: 'message', data: { kind: 'customer' } },
      el('div', { className: 'meta', text: `${t('customer_wrote')} · ${fmtTime(r.created_at)}` }),
      r.subject ? el('div', { className: 'subject', text: r.subject }) : null,
      el('div', { className: 'body', text: r.text }))];
    for (const m of r.messages || []) {
      thread.push(el('li', { className: 'msg ' + m.kind, testid: 'message', data: { kind: m.kind } },
        el('div', { className: 'meta', text: `${label('kind_', m.kind)} · ${fmtTime(m.at)}` }),
        el('div', { className: 'body', text: m.text })));
    }
    $('req-messages').replaceChildren(...thread);

    $('req-notes').replaceChildren(...((r.notes || []).length
      ? r.notes.map((n) => el('li', { className: 'msg note', testid: 'note' },
        el('div', { className: 'meta', text: `${n.author} · ${fmtTime(n.at)}` }),
        el('div', { className: 'body', text: n.text })))
      : [el('li', { className: 'muted', text: t('none') })]));

    $('req-history').replaceChildren(...v.history.map((h) => el('tr', { testid: 'history-row', data: { action: h.action } },
      el('td', { text: fmtTime(h.at) }),
      el('td', { text: h.actor }),
      el('td', { text: label('act_', h.action) }),
      el('td', { text: h.to ? `${h.from ? label('st_', h.from) + ' → ' : ''}${label('st_', h.to)}` : '' }),
      el('td', { className: 'detail', text: h.detail || '' }))));

    const select = $('template-select');
    const keep = reset ? '' : select.value;
    select.replaceChildren(
      el('option', { value: '', text: v.templates.length ? t('choose_template') : t('no_templates') }),
      ...v.templates.map((tp) => el('option', { value: tp.id, text: tp.name })));
    select.value = v.templates.some((tp) => tp.id === keep) ? keep : '';
    if (reset) {
      for (const id of ['reply-text', 'note-text', 'esc-reason', 'resolution-text']) $(id).value = '';
      $('reply-wait').checked = false;
    }
    updateActionState();
  }

  /**
   * The department's unanswered question (with a box to answer it), and the request's problem
   * record with a picker of the open ones to link it to.
   */
  function renderDepartmentWork(r, reset) {
    const question = r.escalation && r.escalation.question;
    $('info-form').hidden = !question;
    setText('info-question', question || null);
    if (reset) $('info-text').value = '';
    setText('req-problem', r.problem ? `${r.problem.number} · ${r.problem.title}` : null);
    const problems = (state.view && state.view.problems) || [];
    fillSelect($('problem-select'), problems.map((p) => [p.id, `${p.number} · ${p.title}`]), t('choose_problem'));
  }

  async function giveInfo(ev) {
    ev.preventDefault();
    const r = state.view && state.view.request;
    const text = $('info-text').value.trim();
    if (!r || !r.escalation) return;
    if (!text) {
      flash(t('empty_text'), 'error');
      $('info-text').focus();
      return;
    }
    await busy($('info-send'), async () => {
      const path = `/api/v1/requests/${encodeURIComponent(r.id)}/escalations/${encodeURIComponent(r.escalation.id)}/info`;
      await api('POST', path, { text });
      $('info-text').value = '';
      flash(t('done_info'), 'ok');
      if (state.current === r.id) await loadRequest(r.id, false);
    });
  }

  async function linkProblem(ev) {
    ev.preventDefault();
    const r = state.view && state.view.request;
    const problemId = $('problem-select').value;
    if (!r || !problemId) return;
    await busy($('problem-link'), async () => {
      await api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/problem`, { problem_id: problemId });
      flash(t('done_problem'), 'ok');
      if (state.current === r.id) await loadRequest(r.id, false);
    });
  }

  /** Reply, escalate and resolve are for the owner (or a supervisor) of an open request. */
  function updateActionState() {
    const r = state.view && state.view.request;
    if (!r) return;
    const mine = r.owner === me() || isSupervisor();
    const open = !CLOSED.has(r.status);
    const canAct = mine && open && r.status !== 'queued' && r.status !== 'new';
    for (const id of ['template-select', 'reply-text', 'reply-wait', 'reply-send', 'esc-department', 'esc-reason', 'esc-send',
      'resolution-text', 'resolve-send', 'info-text', 'info-send', 'problem-select', 'problem-link']) {
      $(id).disabled = !canAct;
    }
    $('actions').dataset.enabled = String(canAct);
  }

  function pickTemplate() {
    const id = $('template-select').value;
    const tp = state.view && state.view.templates.find((x) => x.id === id);
    if (tp) {
      $('reply-text').value = tp.text;
      $('reply-text').focus();
    }
  }

  /** Posts the text of `field` to the current request's `path`; clears it and reloads on success. */
  async function act(ev, path, field, key, button, extra) {
    ev.preventDefault();
    const id = state.current;
    const text = $(field).value.trim();
    if (!id) return;
    if (!text) {
      flash(t('empty_text'), 'error');
      $(field).focus();
      return;
    }
    await busy($(button), async () => {
      const body = { [key]: text, ...(extra || {}) };
      await api('POST', `/api/v1/requests/${encodeURIComponent(id)}/${path}`, body);
      $(field).value = '';
      if (field === 'reply-text') {
        $('template-select').value = '';
        $('reply-wait').checked = false;
      }
      flash(t('done_' + path), 'ok');
      if (state.current === id) await loadRequest(id, false);
      schedule('queue');
    });
  }

  function loadDepartments() {
    return api('GET', '/api/v1/departments').then((d) => {
      state.departments = d || [];
      renderDepartments();
    });
  }

  function renderDepartments() {
    fillSelect($('esc-department'), state.departments.map((d) => [d.code, `${d.name} (${d.code})`]));
  }

  // ---------------------------------------------------------------------------------------------
  // Supervisor
  // ---------------------------------------------------------------------------------------------
  async function loadSupervisor() {
    state.sv = await api('GET', '/api/v1/supervisor');
    state.sv.loadedAt = new Date().toISOString();
    renderSupervisor();
  }

  function renderSupervisor() {
    const sv = state.sv;
    if (!sv) return;
    $('sv-updated').textContent = t('updated_at', { t: fmtTime(sv.loadedAt) });
    $('sv-agents').replaceChildren(...sv.agents.map((a) => el('tr', { testid: 'sv-agent', data: { login: a.user.login, presence: a.presence } },
      el('td', {}, el('strong', { text: a.user.name }), ' ', el('span', { className: 'muted', text: `${a.user.login} · ${label('role_', a.user.role)}${a.user.level ? ' · ' + t('level', { n: a.user.level }) : ''}` })),
      el('td', {}, el('span', { className: 'presence', data: { presence: a.presence }, text: label('presence_', a.presence) })),
      el('td', { testid: 'sv-agent-load', text: `${a.load} / ${a.user.capacity}` }),
      el('td', { text: (a.user.languages || []).map((l) => label('lang_', l)).join(', ') }),
      el('td', { text: (a.user.categories || []).length ? a.user.categories.map((c) => label('cat_', c)).join(', ') : t('all') }))));

    $('sv-queues').replaceChildren(...(sv.queues.length
      ? sv.queues.map((q) => el('tr', { testid: 'sv-queue', data: { category: q.category, language: q.language } },
        el('td', { text: label('cat_', q.category) }),
        el('td', { text: label('lang_', q.language) }),
        el('td', { testid: 'sv-queue-waiting', text: String(q.waiting) }),
        el('td', { text: fmtSpan(q.oldest_age_secs) })))
      : [el('tr', {}, el('td', { colspan: '4', className: 'muted', text: t('sv_no_queues') }))]));

    $('sv-watchlist').replaceChildren(...(sv.watchlist.length
      ? sv.watchlist.map((r) => el('tr', { testid: 'sv-watch', data: { requestId: r.id, number: r.number } },
        el('td', {}, openLink(r.id, r.number)),
        el('td', { text: label('st_', r.status) }),
        el('td', { text: label('pr_', r.priority) }),
        el('td', { text: r.owner || '—' }),
        el('td', { text: fmtTime(r.due && r.due.resolution) }),
        el('td', {}, el('button', { type: 'button', className: 'reassign-pick', data: { number: r.number }, text: t('sv_reassign') }))))
      : [el('tr', {}, el('td', { colspan: '6', className: 'muted', text: t('sv_no_watch') }))]));

    fillSelect($('reassign-agent'), sv.agents.map((a) => [a.user.login,
      `${a.user.name} (${a.user.login}) · ${label('presence_', a.presence)} · ${a.load}/${a.user.capacity}`]));
  }

  // Problems: open and candidate problem records; a candidate spike detection opened is announced.
  async function loadProblems() {
    const list = (await api('GET', '/api/v1/problems')) || [];
    // A candidate that appeared while the live connection was down is announced too (not the
    // ones already there at sign-in: the panel shows those).
    if (state.knownProblems) {
      for (const p of list) {
        if (p.status === 'candidate' && !state.knownProblems.has(p.id)) {
          announceSpike({ id: p.id, number: p.number, title: p.title }, true);
        }
      }
    }
    state.knownProblems = new Set(list.map((p) => p.id));
    state.problems = list;
    renderProblems();
    renderSpikeAlert();
  }

  function renderProblems() {
    const list = state.problems;
    if (!list) return;
    // Candidates first (they wait for someone to confirm or dismiss them), then newest first.
    const rows = [...list].sort((a, b) => (b.status === 'candidate') - (a.status === 'candidate'))
      .map((p) => el('tr', {
        testid: 'sv-problem',
        className: p.status === 'candidate' ? 'candidate' : null,
        data: { problemId: p.id, number: p.number, status: p.status },
      },
      el('td', {}, el('strong', { testid: 'sv-problem-number', text: p.number })),
      el('td', { testid: 'sv-problem-title', className: 'detail', text: p.title }),
      el('td', {}, el('span', { className: 'pill', testid: 'sv-problem-status', data: { problemStatus: p.status }, text: label('pst_', p.status) })),
      el('td', { testid: 'sv-problem-linked', text: String(p.linked ?? 0) }),
      el('td', { text: fmtTime(p.created_at) }),
      el('td', { text: p.department || '—' })));
    $('sv-problems-count').textContent = String(list.length);
    $('sv-problems').replaceChildren(...(rows.length
      ? rows
      : [el('tr', {}, el('td', { colspan: '6', className: 'muted', text: t('no_problems') }))]));
  }

  /** Shows the banner (and a flash) for a candidate problem; each problem once. */
  function announceSpike(alert, quiet) {
    if (!alert.id || state.spikeAlerts.some((a) => a.id === alert.id)) return;
    state.spikeAlerts.unshift(alert);
    state.spikeAlerts.length = Math.min(state.spikeAlerts.length, 5);
    if (state.knownProblems) state.knownProblems.add(alert.id);
    renderSpikeAlert();
    if (!quiet) flash(t('spike_flash', { number: alert.number, title: alert.title }), 'warn');
  }

  /** What a candidate is about, in the page's language when its spike figures are known. */
  function spikeText(alert) {
    const p = (state.problems || []).find((x) => x.id === alert.id);
    const s = p && p.spike;
    if (!s) return alert.title;
    const vars = {
      count: s.count,
      category: label('cat_', p.category),
      region: p.region,
      minutes: s.window_minutes,
      mean: Number(s.baseline_mean || 0).toFixed(1),
    };
    return t(p.region ? 'spike_text' : 'spike_text_national', vars);
  }

  function renderSpikeAlert() {
    const show = isSupervisor() && state.spikeAlerts.length > 0;
    $('spike-alert').hidden = !show;
    if (!show) return;
    $('spike-alert-list').replaceChildren(...state.spikeAlerts.map((a) => el('li', {
      testid: 'spike-alert-item', data: { problemId: a.id, number: a.number },
    }, el('strong', { text: a.number }), ' ', el('span', { testid: 'spike-alert-text', text: spikeText(a) }))));
  }

  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  /** A request id from what the supervisor typed: an id, or a number looked up by search. */
  async function requestIdOf(typed) {
    if (UUID.test(typed)) return { id: typed, number: typed };
    const res = await api('GET', '/api/v1/search?' + new URLSearchParams({ number: typed.toUpperCase(), per_page: '1' }));
    const r = res.items[0];
    return r ? { id: r.id, number: r.number } : null;
  }

  async function reassign(ev) {
    ev.preventDefault();
    const typed = $('reassign-request').value.trim();
    const agent = $('reassign-agent').value;
    $('reassign-result').textContent = '';
    if (!typed || !agent) return;
    await busy($('reassign-send'), async () => {
      const found = await requestIdOf(typed);
      if (!found) {
        $('reassign-result').textContent = t('not_found');
        return;
      }
      const r = await api('POST', `/api/v1/requests/${encodeURIComponent(found.id)}/reassign`, { agent });
      const msg = t('reassigned', { number: r.number, agent: r.owner || agent });
      $('reassign-result').textContent = msg;
      $('reassign-result').dataset.number = r.number;
      flash(msg, 'ok');
      schedule('sv');
      if (state.current === r.id) schedule('request');
    });
  }

  // Templates (supervisors)
  async function loadTemplates() {
    state.templates = (await api('GET', '/api/v1/templates')) || [];
    renderTemplates();
  }

  function renderTemplates() {
    const cat = $('tpl-filter-category').value;
    const lang = $('tpl-filter-language').value;
    const rows = state.templates
      .filter((tp) => (!cat || tp.category === cat) && (!lang || tp.language === lang))
      .sort((a, b) => a.category.localeCompare(b.category) || a.language.localeCompare(b.language) || a.name.localeCompare(b.name))
      .map((tp) => el('tr', { testid: 'tpl-row', data: { id: tp.id } },
        el('td', { text: tp.name }),
        el('td', { text: label('cat_', tp.category) }),
        el('td', { text: label('lang_', tp.language) }),
        el('td', { className: 'muted', text: `${tp.updated_by} · ${fmtTime(tp.updated_at)}` }),
        el('td', {}, el('button', { type: 'button', className: 'tpl-edit', testid: 'tpl-edit', data: { id: tp.id }, text: t('edit') }))));
    $('tpl-list').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', className: 'muted', text: t('none') }))]));
  }

  function editTemplate(id) {
    const tp = state.templates.find((x) => x.id === id);
    state.tplEditing = tp ? tp.id : '';
    $('tpl-category').value = tp ? tp.category : ($('tpl-filter-category').value || 'other');
    $('tpl-language').value = tp ? tp.language : ($('tpl-filter-language').value || state.lang);
    $('tpl-name').value = tp ? tp.name : '';
    $('tpl-body').value = tp ? tp.body : '';
    renderTemplateForm();
    $('tpl-name').focus();
  }

  function renderTemplateForm() {
    const editing = state.tplEditing !== null;
    $('tpl-form').hidden = !editing;
    $('tpl-form').dataset.mode = state.tplEditing ? 'edit' : 'new';
    $('tpl-form-title').textContent = state.tplEditing ? t('tpl_edit') : t('tpl_new');
    $('tpl-delete').hidden = !state.tplEditing;
  }

  async function saveTemplate(ev) {
    ev.preventDefault();
    const body = {
      category: $('tpl-category').value,
      language: $('tpl-language').value,
      name: $('tpl-name').value.trim(),
      body: $('tpl-body').value.trim(),
    };
    await busy($('tpl-save'), async () => {
      if (state.tplEditing) await api('PUT', `/api/v1/templates/${encodeURIComponent(state.tplEditing)}`, body);
      else await api('POST', '/api/v1/templates', body);
      state.tplEditing = null;
      renderTemplateForm();
      flash(t('saved'), 'ok');
      await loadTemplates();
      if (state.current) schedule('request');
    });
  }

  async function deleteTemplate() {
    const id = state.tplEditing;
    if (!id) return;
    await busy($('tpl-delete'), async () => {
      await api('DELETE', `/api/v1/templates/${encodeURIComponent(id)}`);
      state.tplEditing = null;
      renderTemplateForm();
      flash(t('deleted'), 'ok');
      await loadTemplates();
      if (state.current) schedule('request');
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------------
  function wire() {
    $('signout').addEventListener('click', signOut);
    for (const b of document.querySelectorAll('#tabs [data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
    for (const b of document.querySelectorAll('#presence [data-presence]')) {
      b.addEventListener('click', () => setPresence(b.dataset.presence, b));
    }
    $('take-next').addEventListener('click', (e) => takeNext(e.currentTarget));
    $('search-form').addEventListener('submit', search);
    $('req-close').addEventListener('click', () => {
      state.current = null;
      state.view = null;
      showRequestPanel(false);
      renderQueue();
    });
    $('template-select').addEventListener('change', pickTemplate);
    $('reply-form').addEventListener('submit', (e) => act(e, 'replies', 'reply-text', 'text', 'reply-send',
      $('reply-wait').checked ? { wait_for_customer: true } : undefined));
    $('note-form').addEventListener('submit', (e) => act(e, 'notes', 'note-text', 'text', 'note-send'));
    $('escalate-form').addEventListener('submit', (e) => act(e, 'escalations', 'esc-reason', 'reason', 'esc-send',
      { department: $('esc-department').value }));
    $('resolve-form').addEventListener('submit', (e) => act(e, 'resolve', 'resolution-text', 'resolution', 'resolve-send'));
    $('info-form').addEventListener('submit', giveInfo);
    $('problem-form').addEventListener('submit', linkProblem);
    $('sv-refresh').addEventListener('click', () => schedule('sv', 'problems', 'templates'));
    $('spike-dismiss').addEventListener('click', () => {
      state.spikeAlerts = [];
      renderSpikeAlert();
    });
    $('spike-show').addEventListener('click', () => {
      showTab('supervise');
      $('sv-problems-card').scrollIntoView({ block: 'start' });
    });
    $('reassign-form').addEventListener('submit', reassign);
    $('tpl-filter-category').addEventListener('change', renderTemplates);
    $('tpl-filter-language').addEventListener('change', renderTemplates);
    $('tpl-new').addEventListener('click', () => editTemplate(null));
    $('tpl-form').addEventListener('submit', saveTemplate);
    $('tpl-delete').addEventListener('click', deleteTemplate);
    $('tpl-cancel').addEventListener('click', () => {
      state.tplEditing = null;
      renderTemplateForm();
    });
    // Delegated clicks: links and buttons that open a request, edit a template, prefill reassignment.
    document.addEventListener('click', (e) => {
      const target = e.target instanceof Element ? e.target : null;
      if (!target) return;
      const open = target.closest('.open[data-request-id]');
      if (open) {
        e.preventDefault();
        openRequest(open.dataset.requestId).catch(showError);
        return;
      }
      const edit = target.closest('.tpl-edit[data-id]');
      if (edit) {
        editTemplate(edit.dataset.id);
        return;
      }
      const pick = target.closest('.reassign-pick[data-number]');
      if (pick) {
        $('reassign-request').value = pick.dataset.number;
        $('reassign-agent').focus();
      }
    });
    setInterval(tickCountdowns, 1000);
  }

  function start() {
    wire();
    Staff.setup({
      state,
      strings: I18N,
      roles: ['agent', 'supervisor'],
      sessionKey: 'komek.session',
      langKey: 'komek.lang',
      onLang,
      onSignedIn: signedIn,
      onExpired: endSession,
      afterBusy: () => {
        if (state.view) updateActionState();
      },
    });
    if (resumeSession()) enterApp();
    else $('login-login').focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
