// Komek workspace page: agents and supervisors. Plain JavaScript, no build step, no external assets.
// Everything that comes from the server is put on the page as text (textContent), never as HTML.
'use strict';

(() => {
  // ---------------------------------------------------------------------------------------------
  // Interface strings: one dictionary per language.
  // ---------------------------------------------------------------------------------------------
  const I18N = {
    kk: {
      app_subtitle: 'жұмыс орны', lang_label: 'Тіл',
      signin_title: 'Жүйеге кіру', login: 'Логин', password: 'Құпиясөз', signin: 'Кіру', signout: 'Шығу',
      signin_failed: 'Логин немесе құпиясөз қате',
      staff_only: 'Бұл бет операторлар мен супервайзерлерге арналған',
      session_expired: 'Сессия аяқталды, қайта кіріңіз',
      err_network: 'Сервер қолжетімсіз', err_generic: 'Қате: {msg}',
      tab_work: 'Жұмыс', tab_supervise: 'Бақылау',
      role_agent: 'оператор', role_supervisor: 'супервайзер', level: '{n}-деңгей',
      presence: 'Күйім', presence_online: 'Желіде', presence_away: 'Уақытша жоқ', presence_offline: 'Желіден тыс',
      presence_unknown: 'белгісіз', handed_back: 'Кезекке қайтарылды: {list}',
      live_open: 'Тікелей жаңарту', live_off: 'Байланыс жоқ, қайта қосылуда…',
      offers: 'Ұсыныстар', no_offers: 'Ұсыныс жоқ', accept: 'Қабылдау', decline: 'Бас тарту',
      expires_in: '{s} с қалды', expired: 'мерзімі өтті',
      queue: 'Кезек', waiting_total: 'Күтуде: {n}', take_next: 'Келесісін алу', nothing_waits: 'Сізге лайық өтініш кезекте жоқ',
      mine: 'Менің өтініштерім', none: 'Жоқ', open: 'Ашу',
      search: 'Іздеу', ph_number: 'Өтініш нөмірі', ph_phone: 'Телефон', ph_words: 'Сөздер', any_status: 'Кез келген күй',
      found: 'Табылды: {n}', live_feed: 'Оқиғалар',
      no_request_open: 'Тізімнен өтінішті ашыңыз.', close: 'Жабу',
      request: 'Өтініш', status: 'Күйі', priority: 'Басымдық', category: 'Санат', language: 'Тілі', channel: 'Арна',
      owner: 'Жауапты', created: 'Түскені', due_first: 'Алғашқы жауап мерзімі', due_resolution: 'Шешу мерзімі',
      escalation: 'Бөлімге жіберілген',
      customer: 'Клиент', name: 'Аты', phone: 'Телефон', email: 'Эл. пошта',
      customer_degraded: 'Billing/CRM қолжетімсіз; Komek-тің өз деректері көрсетілген',
      cust_language: 'Қызмет көрсету тілі', segment: 'Сегмент', region: 'Өңір', tariff: 'Тариф', balance: 'Баланс',
      services: 'Қосылған қызметтер', charges: 'Соңғы есептен шығарулар', payments: 'Соңғы төлемдер',
      since: '{date} бастап', per_month: '{amount}/ай', free: 'тегін',
      seg_mass: 'Жаппай', seg_vip: 'VIP', seg_business: 'Бизнес', seg_youth: 'Жастар',
      other_requests: 'Клиенттің басқа өтініштері', similar: 'Ұқсас шешілген өтініштер', shared_words: 'ортақ сөз: {n}',
      conversation: 'Хат алмасу', customer_wrote: 'Клиент', notes: 'Ішкі жазбалар', history: 'Тарих',
      when: 'Уақыты', who: 'Кім', what: 'Не істелді', detail: 'Толығырақ',
      reply: 'Жауап', template: 'Үлгі', choose_template: '— үлгіні таңдаңыз —', no_templates: '— үлгі жоқ —',
      wait_for_customer: 'Клиенттің жауабын күту (мерзім тоқтатылады)', send_reply: 'Жауап жіберу', note: 'Ішкі жазба', add_note: 'Жазба қосу',
      escalate: 'Бөлімге жіберу', department: 'Бөлім', reason: 'Себебі',
      resolve: 'Шешілді', resolution: 'Шешім',
      sent: 'Жіберілді', saved: 'Сақталды', deleted: 'Жойылды', empty_text: 'Мәтінді жазыңыз',
      accepted: '{number} өтініші сізде', declined: '{number} ұсынысынан бас тарттыңыз',
      refresh: 'Жаңарту', updated_at: 'Жаңартылды: {t}',
      sv_agents: 'Операторлар', sv_agent: 'Оператор', sv_presence: 'Күйі', sv_load: 'Жүктеме', sv_languages: 'Тілдері',
      sv_categories: 'Санаттары', sv_queues: 'Кезектер', sv_waiting: 'Күтуде', sv_oldest: 'Ең ұзақ күткені',
      sv_watch: 'Мерзімді бақылау тізімі', sv_reassign: 'Басқа операторға беру', sv_request_number: 'Өтініш нөмірі',
      sv_no_queues: 'Кезек бос', sv_no_watch: 'Мерзімі бұзылған өтініш жоқ', reassigned: '{number} енді {agent} операторында',
      not_found: 'Табылмады',
      tpl_title: 'Жауап үлгілері', tpl_new: 'Жаңа үлгі', tpl_edit: 'Үлгіні өзгерту', tpl_name: 'Атауы', tpl_body: 'Мәтіні',
      tpl_updated: 'Өзгертілген', tpl_placeholders: 'Толтырғыштар: {customer_name}, {number}, {deadline}',
      save: 'Сақтау', delete: 'Жою', cancel: 'Болдырмау', edit: 'Өзгерту', all: 'Барлығы',
      st_new: 'Жаңа', st_queued: 'Кезекте', st_assigned: 'Тағайындалды', st_in_progress: 'Жұмыста',
      st_waiting_customer: 'Клиентті күтуде', st_escalated: 'Бөлімде', st_resolved: 'Шешілді', st_closed: 'Жабық',
      st_reopened: 'Қайта ашылды',
      pr_low: 'Төмен', pr_normal: 'Қалыпты', pr_high: 'Жоғары', pr_urgent: 'Шұғыл',
      cat_billing: 'Шот және төлем', cat_network: 'Байланыс сапасы', cat_internet: 'Мобильді интернет', cat_roaming: 'Роуминг',
      cat_tariff: 'Тариф', cat_sim_card: 'SIM-карта', cat_other: 'Басқа',
      lang_kk: 'Қазақша', lang_ru: 'Орысша', lang_en: 'Ағылшынша',
      ch_web: 'Сайт', ch_call_center: 'Байланыс орталығы', ch_front_office: 'Қызмет көрсету орталығы', ch_email: 'Эл. пошта', ch_sms: 'SMS',
      kind_acknowledgment: 'Растау', kind_reply: 'Жауап', kind_resolution: 'Шешім',
      act_created: 'Қабылданды', act_queued: 'Кезекке қойылды', act_offered: 'Ұсынылды', act_offer_declined: 'Ұсыныстан бас тартылды',
      act_offer_expired: 'Ұсыныс мерзімі өтті', act_assigned: 'Тағайындалды', act_replied: 'Жауап берілді',
      act_note_added: 'Жазба қосылды', act_escalated: 'Бөлімге жіберілді', act_escalation_answered: 'Бөлім жауап берді',
      act_resolved: 'Шешілді', act_reopened: 'Қайта ашылды', act_handed_back: 'Кезекке қайтарылды',
      act_reassigned: 'Басқа операторға берілді', act_deadline_warning: 'Мерзім жақындады', act_deadline_breached: 'Мерзім бұзылды',
      act_survey_answered: 'Сауалнамаға жауап берілді', act_asked_customer: 'Клиенттен сұралды',
      ev_offer_made: 'Жаңа ұсыныс', ev_offer_expired: 'Ұсыныс мерзімі өтті', ev_offer_declined: 'Ұсыныстан бас тартылды',
      ev_request_assigned: 'Тағайындалды', ev_request_reassigned: 'Басқа операторға берілді',
      ev_request_escalation_returned: 'Бөлімнен жауап келді', ev_request_reopened: 'Қайта ашылды',
      ev_deadline_warning: 'Мерзім жақындады', ev_deadline_breached: 'Мерзім бұзылды', ev_request_queued: 'Кезекке түсті',
      ev_request_replied: 'Жауап берілді', ev_request_resolved: 'Шешілді', ev_request_escalated: 'Бөлімге жіберілді',
      ev_request_note_added: 'Жазба қосылды', ev_request_handed_back: 'Кезекке қайтарылды',
      done_replies: 'Жауап жіберілді', done_notes: 'Жазба сақталды', done_escalations: 'Бөлімге жіберілді', done_resolve: 'Өтініш шешілді',
      ev_request_created: 'Жаңа өтініш', ev_survey_created: 'Сауалнама жіберілді', ev_survey_answered: 'Сауалнамаға жауап берілді',
      deadline_alert: '{number}: {what}',
      dept_asks: 'Бөлім сұрайды', send_info: 'Бөлімге жауап беру', done_info: 'Жауап бөлімге жіберілді',
      problem: 'Мәселе', link_problem: 'Мәселеге байланыстыру', choose_problem: 'Мәселені таңдаңыз',
      done_problem: 'Мәселеге байланыстырылды', act_escalation_info_requested: 'Бөлім ақпарат сұрады',
      act_escalation_info_given: 'Бөлімге ақпарат берілді', act_escalation_accepted: 'Бөлім қабылдады',
      act_escalation_rerouted: 'Басқа бөлімге жіберілді', act_escalation_breached: 'Бөлім мерзімі бұзылды',
      act_escalation_flagged: 'Бөлімдер арасында айналды', act_problem_linked: 'Мәселеге байланыстырылды',
      act_problem_unlinked: 'Мәселеден ажыратылды', act_resolved_by_problem: 'Мәселемен бірге шешілді',
    },
    ru: {
      app_subtitle: 'рабочее место', lang_label: 'Язык',
      signin_title: 'Вход', login: 'Логин', password: 'Пароль', signin: 'Войти', signout: 'Выйти',
      signin_failed: 'Неверный логин или пароль',
      staff_only: 'Эта страница для операторов и супервайзеров',
      session_expired: 'Сессия истекла, войдите снова',
      err_network: 'Сервер недоступен', err_generic: 'Ошибка: {msg}',
      tab_work: 'Работа', tab_supervise: 'Контроль',
      role_agent: 'оператор', role_supervisor: 'супервайзер', level: 'уровень {n}',
      presence: 'Мой статус', presence_online: 'В сети', presence_away: 'Отошёл', presence_offline: 'Не в сети',
      presence_unknown: 'неизвестно', handed_back: 'Возвращены в очередь: {list}',
      live_open: 'Обновления в реальном времени', live_off: 'Нет связи, переподключение…',
      offers: 'Предложения', no_offers: 'Нет предложений', accept: 'Принять', decline: 'Отклонить',
      expires_in: 'осталось {s} с', expired: 'истекло',
      queue: 'Очередь', waiting_total: 'Ожидают: {n}', take_next: 'Взять следующее', nothing_waits: 'Подходящих обращений в очереди нет',
      mine: 'Мои обращения', none: 'Нет', open: 'Открыть',
      search: 'Поиск', ph_number: 'Номер обращения', ph_phone: 'Телефон', ph_words: 'Слова', any_status: 'Любой статус',
      found: 'Найдено: {n}', live_feed: 'События',
      no_request_open: 'Откройте обращение из списка.', close: 'Закрыть',
      request: 'Обращение', status: 'Статус', priority: 'Приоритет', category: 'Категория', language: 'Язык', channel: 'Канал',
      owner: 'Ответственный', created: 'Создано', due_first: 'Срок первого ответа', due_resolution: 'Срок решения',
      escalation: 'Эскалация',
      customer: 'Клиент', name: 'Имя', phone: 'Телефон', email: 'Эл. почта',
      customer_degraded: 'Billing/CRM недоступны; показаны собственные данные Komek',
      cust_language: 'Язык обслуживания', segment: 'Сегмент', region: 'Регион', tariff: 'Тариф', balance: 'Баланс',
      services: 'Подключённые услуги', charges: 'Последние списания', payments: 'Последние платежи',
      since: 'с {date}', per_month: '{amount}/мес.', free: 'бесплатно',
      seg_mass: 'Массовый', seg_vip: 'VIP', seg_business: 'Бизнес', seg_youth: 'Молодёжный',
      other_requests: 'Другие обращения клиента', similar: 'Похожие решённые обращения', shared_words: 'общих слов: {n}',
      conversation: 'Переписка', customer_wrote: 'Клиент', notes: 'Внутренние заметки', history: 'История',
      when: 'Когда', who: 'Кто', what: 'Что', detail: 'Подробности',
      reply: 'Ответ', template: 'Шаблон', choose_template: '— выберите шаблон —', no_templates: '— нет шаблонов —',
      wait_for_customer: 'Ждать ответа клиента (срок на паузе)', send_reply: 'Отправить ответ', note: 'Внутренняя заметка', add_note: 'Добавить заметку',
      escalate: 'Эскалировать', department: 'Отдел', reason: 'Причина',
      resolve: 'Решить', resolution: 'Решение',
      sent: 'Отправлено', saved: 'Сохранено', deleted: 'Удалено', empty_text: 'Введите текст',
      accepted: 'Обращение {number} ваше', declined: 'Вы отклонили {number}',
      refresh: 'Обновить', updated_at: 'Обновлено: {t}',
      sv_agents: 'Операторы', sv_agent: 'Оператор', sv_presence: 'Статус', sv_load: 'Нагрузка', sv_languages: 'Языки',
      sv_categories: 'Категории', sv_queues: 'Очереди', sv_waiting: 'Ожидают', sv_oldest: 'Дольше всех ждёт',
      sv_watch: 'Контроль сроков', sv_reassign: 'Переназначить', sv_request_number: 'Номер обращения',
      sv_no_queues: 'Очереди пусты', sv_no_watch: 'Просроченных обращений нет', reassigned: '{number} теперь у {agent}',
      not_found: 'Не найдено',
      tpl_title: 'Шаблоны ответов', tpl_new: 'Новый шаблон', tpl_edit: 'Изменить шаблон', tpl_name: 'Название', tpl_body: 'Текст',
      tpl_updated: 'Изменён', tpl_placeholders: 'Подстановки: {customer_name}, {number}, {deadline}',
      save: 'Сохранить', delete: 'Удалить', cancel: 'Отмена', edit: 'Изменить', all: 'Все',
      st_new: 'Новое', st_queued: 'В очереди', st_assigned: 'Назначено', st_in_progress: 'В работе',
      st_waiting_customer: 'Ждёт клиента', st_escalated: 'Эскалировано', st_resolved: 'Решено', st_closed: 'Закрыто',
      st_reopened: 'Переоткрыто',
      pr_low: 'Низкий', pr_normal: 'Обычный', pr_high: 'Высокий', pr_urgent: 'Срочный',
      cat_billing: 'Счета и оплата', cat_network: 'Качество связи', cat_internet: 'Мобильный интернет', cat_roaming: 'Роуминг',
      cat_tariff: 'Тариф', cat_sim_card: 'SIM-карта', cat_other: 'Другое',
      lang_kk: 'Казахский', lang_ru: 'Русский', lang_en: 'Английский',
      ch_web: 'Сайт', ch_call_center: 'Колл-центр', ch_front_office: 'Офис обслуживания', ch_email: 'Эл. почта', ch_sms: 'SMS',
      kind_acknowledgment: 'Подтверждение', kind_reply: 'Ответ', kind_resolution: 'Решение',
      act_created: 'Принято', act_queued: 'Поставлено в очередь', act_offered: 'Предложено', act_offer_declined: 'Предложение отклонено',
      act_offer_expired: 'Предложение истекло', act_assigned: 'Назначено', act_replied: 'Ответ отправлен',
      act_note_added: 'Добавлена заметка', act_escalated: 'Эскалировано', act_escalation_answered: 'Ответ отдела',
      act_resolved: 'Решено', act_reopened: 'Переоткрыто', act_handed_back: 'Возвращено в очередь',
      act_reassigned: 'Переназначено', act_deadline_warning: 'Срок подходит', act_deadline_breached: 'Срок нарушен',
      act_survey_answered: 'Ответ на опрос', act_asked_customer: 'Запрос клиенту',
      ev_offer_made: 'Новое предложение', ev_offer_expired: 'Предложение истекло', ev_offer_declined: 'Предложение отклонено',
      ev_request_assigned: 'Назначено', ev_request_reassigned: 'Переназначено',
      ev_request_escalation_returned: 'Ответ отдела', ev_request_reopened: 'Переоткрыто',
      ev_deadline_warning: 'Срок подходит', ev_deadline_breached: 'Срок нарушен', ev_request_queued: 'В очереди',
      ev_request_replied: 'Ответ отправлен', ev_request_resolved: 'Решено', ev_request_escalated: 'Эскалировано',
      ev_request_note_added: 'Добавлена заметка', ev_request_handed_back: 'Возвращено в очередь',
      done_replies: 'Ответ отправлен', done_notes: 'Заметка сохранена', done_escalations: 'Передано в отдел', done_resolve: 'Обращение решено',
      ev_request_created: 'Новое обращение', ev_survey_created: 'Опрос отправлен', ev_survey_answered: 'Ответ на опрос',
      deadline_alert: '{number}: {what}',
      dept_asks: 'Отдел спрашивает', send_info: 'Ответить отделу', done_info: 'Ответ отправлен в отдел',
      problem: 'Проблема', link_problem: 'Привязать к проблеме', choose_problem: 'Выберите проблему',
      done_problem: 'Привязано к проблеме', act_escalation_info_requested: 'Отдел запросил информацию',
      act_escalation_info_given: 'Информация передана отделу', act_escalation_accepted: 'Отдел принял',
      act_escalation_rerouted: 'Передано в другой отдел', act_escalation_breached: 'Срок отдела нарушен',
      act_escalation_flagged: 'Пересылалось между отделами', act_problem_linked: 'Привязано к проблеме',
      act_problem_unlinked: 'Отвязано от проблемы', act_resolved_by_problem: 'Решено вместе с проблемой',
    },
    en: {
      app_subtitle: 'workspace', lang_label: 'Language',
      signin_title: 'Sign in', login: 'Login', password: 'Password', signin: 'Sign in', signout: 'Sign out',
      signin_failed: 'Wrong login or password',
      staff_only: 'This page is for agents and supervisors',
      session_expired: 'Your session has ended; please sign in again',
      err_network: 'The server cannot be reached', err_generic: 'Error: {msg}',
      tab_work: 'Work', tab_supervise: 'Supervision',
      role_agent: 'agent', role_supervisor: 'supervisor', level: 'level {n}',
      presence: 'My status', presence_online: 'Online', presence_away: 'Away', presence_offline: 'Offline',
      presence_unknown: 'unknown', handed_back: 'Given back to the queue: {list}',
      live_open: 'Live', live_off: 'Disconnected, reconnecting…',
      offers: 'Offers', no_offers: 'No offers', accept: 'Accept', decline: 'Decline',
      expires_in: '{s} s left', expired: 'expired',
      queue: 'Waiting queue', waiting_total: 'Waiting: {n}', take_next: 'Take next', nothing_waits: 'Nothing in the queue fits you',
      mine: 'My requests', none: 'None', open: 'Open',
      search: 'Search', ph_number: 'Request number', ph_phone: 'Phone', ph_words: 'Words', any_status: 'Any status',
      found: 'Found: {n}', live_feed: 'Events',
      no_request_open: 'Open a request from the lists.', close: 'Close',
      request: 'Request', status: 'Status', priority: 'Priority', category: 'Category', language: 'Language', channel: 'Channel',
      owner: 'Owner', created: 'Created', due_first: 'First response due', due_resolution: 'Resolution due',
      escalation: 'Escalated to',
      customer: 'Customer', name: 'Name', phone: 'Phone', email: 'Email',
      customer_degraded: "Billing/CRM is unavailable; showing Komek's own data",
      cust_language: 'Language', segment: 'Segment', region: 'Region', tariff: 'Tariff', balance: 'Balance',
      services: 'Active services', charges: 'Recent charges', payments: 'Recent payments',
      since: 'since {date}', per_month: '{amount}/month', free: 'free',
      seg_mass: 'Mass market', seg_vip: 'VIP', seg_business: 'Business', seg_youth: 'Youth',
      other_requests: "The customer's other requests", similar: 'Similar resolved requests', shared_words: 'shared words: {n}',
      conversation: 'Conversation', customer_wrote: 'Customer', notes: 'Internal notes', history: 'History',
      when: 'When', who: 'Who', what: 'What', detail: 'Detail',
      reply: 'Reply', template: 'Template', choose_template: '— choose a template —', no_templates: '— no templates —',
      wait_for_customer: "Wait for the customer's answer (the clock stops)", send_reply: 'Send reply', note: 'Internal note', add_note: 'Add note',
      escalate: 'Escalate', department: 'Department', reason: 'Reason',
      resolve: 'Resolve', resolution: 'Resolution',
      sent: 'Sent', saved: 'Saved', deleted: 'Deleted', empty_text: 'Please write the text',
      accepted: '{number} is yours', declined: 'You declined {number}',
      refresh: 'Refresh', updated_at: 'Updated: {t}',
      sv_agents: 'Agents', sv_agent: 'Agent', sv_presence: 'Presence', sv_load: 'Load', sv_languages: 'Languages',
      sv_categories: 'Categories', sv_queues: 'Queues', sv_waiting: 'Waiting', sv_oldest: 'Oldest',
      sv_watch: 'Deadline watch list', sv_reassign: 'Reassign', sv_request_number: 'Request number',
      sv_no_queues: 'The queues are empty', sv_no_watch: 'No request has breached a deadline', reassigned: '{number} now belongs to {agent}',
      not_found: 'Not found',
      tpl_title: 'Reply templates', tpl_new: 'New template', tpl_edit: 'Edit template', tpl_name: 'Name', tpl_body: 'Text',
      tpl_updated: 'Updated', tpl_placeholders: 'Placeholders: {customer_name}, {number}, {deadline}',
      save: 'Save', delete: 'Delete', cancel: 'Cancel', edit: 'Edit', all: 'All',
      st_new: 'New', st_queued: 'Queued', st_assigned: 'Assigned', st_in_progress: 'In progress',
      st_waiting_customer: 'Waiting for customer', st_escalated: 'Escalated', st_resolved: 'Resolved', st_closed: 'Closed',
      st_reopened: 'Reopened',
      pr_low: 'Low', pr_normal: 'Normal', pr_high: 'High', pr_urgent: 'Urgent',
      cat_billing: 'Billing', cat_network: 'Network', cat_internet: 'Mobile internet', cat_roaming: 'Roaming',
      cat_tariff: 'Tariff', cat_sim_card: 'SIM card', cat_other: 'Other',
      lang_kk: 'Kazakh', lang_ru: 'Russian', lang_en: 'English',
      ch_web: 'Web', ch_call_center: 'Call centre', ch_front_office: 'Front office', ch_email: 'Email', ch_sms: 'SMS',
      kind_acknowledgment: 'Acknowledgment', kind_reply: 'Reply', kind_resolution: 'Resolution',
      act_created: 'Created', act_queued: 'Queued', act_offered: 'Offered', act_offer_declined: 'Offer declined',
      act_offer_expired: 'Offer expired', act_assigned: 'Assigned', act_replied: 'Replied',
      act_note_added: 'Note added', act_escalated: 'Escalated', act_escalation_answered: 'Department answered',
      act_resolved: 'Resolved', act_reopened: 'Reopened', act_handed_back: 'Given back to the queue',
      act_reassigned: 'Reassigned', act_deadline_warning: 'Deadline near', act_deadline_breached: 'Deadline breached',
      act_survey_answered: 'Survey answered', act_asked_customer: 'Asked the customer',
      ev_offer_made: 'New offer', ev_offer_expired: 'Offer expired', ev_offer_declined: 'Offer declined',
      ev_request_assigned: 'Assigned', ev_request_reassigned: 'Reassigned',
      ev_request_escalation_returned: 'Department answered', ev_request_reopened: 'Reopened',
      ev_deadline_warning: 'Deadline near', ev_deadline_breached: 'Deadline breached', ev_request_queued: 'Queued',
      ev_request_replied: 'Replied', ev_request_resolved: 'Resolved', ev_request_escalated: 'Escalated',
      ev_request_note_added: 'Note added', ev_request_handed_back: 'Given back to the queue',
      done_replies: 'Reply sent', done_notes: 'Note saved', done_escalations: 'Escalated', done_resolve: 'Request resolved',
      ev_request_created: 'New request', ev_survey_created: 'Survey sent', ev_survey_answered: 'Survey answered',
      deadline_alert: '{number}: {what}',
      dept_asks: 'Department asks', send_info: 'Answer the department', done_info: 'Answer sent to the department',
      problem: 'Problem', link_problem: 'Link to the problem', choose_problem: 'Choose a problem',
      done_problem: 'Linked to the problem', act_escalation_info_requested: 'Department asked for information',
      act_escalation_info_given: 'Information given to the department',
      act_escalation_accepted: 'Department accepted', act_escalation_rerouted: 'Rerouted to another department',
      act_escalation_breached: 'Department deadline breached', act_escalation_flagged: 'Bounced between departments',
      act_problem_linked: 'Linked to a problem', act_problem_unlinked: 'Unlinked from a problem',
      act_resolved_by_problem: 'Resolved with its problem',
    },
  };
  const LANGS = ['kk', 'ru', 'en'];
  const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
  const STATUSES = ['new', 'queued', 'assigned', 'in_progress', 'waiting_customer', 'escalated', 'resolved', 'closed', 'reopened'];
  const CATEGORIES = ['billing', 'network', 'internet', 'roaming', 'tariff', 'sim_card', 'other'];
  const CLOSED = new Set(['resolved', 'closed']);
  const TIME_ZONE = 'Asia/Almaty';
  const LANG_KEY = 'komek.lang';
  const SESSION_KEY = 'komek.session';

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
    searchResult: null,
    searchParams: null,
    feed: [],
    ws: null,
    wsOpen: false,
    backoff: 0,
    reconnectTimer: null,
    pending: new Set(),
    refreshTimer: null,
    flashTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  function t(key, vars) {
    const dict = I18N[state.lang] || I18N.en;
    let s = dict[key];
    if (s === undefined) s = I18N.en[key];
    if (s === undefined) return key;
    if (vars) {
      for (const [k, v] of Object.entries(vars)) s = s.split('{' + k + '}').join(String(v));
    }
    return s;
  }

  /** A label for a server code (`prefix` + code), or the code itself if there is none. */
  function label(prefix, code) {
    if (code === null || code === undefined || code === '') return '—';
    const key = prefix + String(code).replace(/\./g, '_');
    const dict = I18N[state.lang] || I18N.en;
    return dict[key] || I18N.en[key] || String(code);
  }

  /** Builds an element; strings among `children` become text nodes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'className') node.className = v;
        else if (k === 'testid') node.setAttribute('data-testid', v);
        else if (k === 'data') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
        else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return node;
  }

  function setText(id, value) {
    const node = $(id);
    if (node) node.textContent = value === null || value === undefined || value === '' ? '—' : String(value);
  }

  function fmtTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    // Kazakhstan time, as in the deadlines the customers are told (the service's calendar zone).
    try {
      return new Intl.DateTimeFormat(LOCALES[state.lang], { dateStyle: 'short', timeStyle: 'short', timeZone: TIME_ZONE }).format(d);
    } catch (_) {
      return d.toLocaleString();
    }
  }

  /** A calendar date (`YYYY-MM-DD`) in the interface's language. */
  function fmtDate(ymd) {
    if (!ymd) return '—';
    const d = new Date(`${ymd}T00:00:00Z`);
    if (Number.isNaN(d.getTime())) return String(ymd);
    try {
      return new Intl.DateTimeFormat(LOCALES[state.lang], { dateStyle: 'medium', timeZone: 'UTC' }).format(d);
    } catch (_) {
      return String(ymd);
    }
  }

  /** Whole tenge, e.g. `1 250 ₸`. */
  function fmtTenge(n) {
    if (n === null || n === undefined || n === '') return '—';
    let s;
    try {
      s = new Intl.NumberFormat(LOCALES[state.lang], { maximumFractionDigits: 0 }).format(Number(n));
    } catch (_) {
      s = String(n);
    }
    return `${s} ₸`;
  }

  function fmtAge(secs) {
    if (secs === null || secs === undefined) return '—';
    const s = Math.max(0, Math.floor(secs));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = s % 60;
    if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`;
    return `${m}:${String(r).padStart(2, '0')}`;
  }

  function snippet(text, n) {
    const s = String(text || '').replace(/\s+/g, ' ').trim();
    return s.length > n ? s.slice(0, n - 1) + '…' : s;
  }

  function flash(message, kind) {
    const box = $('flash');
    box.textContent = message;
    box.dataset.kind = kind || 'info';
    box.hidden = false;
    clearTimeout(state.flashTimer);
    state.flashTimer = setTimeout(() => { box.hidden = true; }, kind === 'error' ? 10000 : 5000);
  }

  // ---------------------------------------------------------------------------------------------
  // The API
  // ---------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function problemText(data, status) {
    if (data && typeof data === 'object') {
      const parts = [];
      if (data.detail) parts.push(String(data.detail));
      if (Array.isArray(data.errors)) {
        for (const e of data.errors) parts.push(`${e.field}: ${e.message}`);
      }
      if (parts.length) return parts.join('; ');
      if (data.title) return String(data.title);
    }
    return `HTTP ${status}`;
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (_) {
      throw new ApiError(0, t('err_network'));
    }
    if (res.status === 204) return null;
    const type = res.headers.get('content-type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : null;
    if (!res.ok) {
      if (res.status === 401 && state.token && path !== '/api/v1/auth/login') {
        endSession(t('session_expired'));
      }
      throw new ApiError(res.status, problemText(data, res.status));
    }
    return data;
  }

  function showError(e) {
    if (e instanceof ApiError && e.status === 401) return; // the session ended; already said
    flash(t('err_generic', { msg: e && e.message ? e.message : String(e) }), 'error');
  }

  /** Runs `fn` with `button` disabled meanwhile; errors are shown. */
  async function busy(button, fn) {
    if (button) button.disabled = true;
    try {
      return await fn();
    } catch (e) {
      showError(e);
      return undefined;
    } finally {
      if (button) button.disabled = false;
      if (state.view) updateActionState();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Language
  // ---------------------------------------------------------------------------------------------
  function initialLang() {
    try {
      const saved = localStorage.getItem(LANG_KEY);
      if (LANGS.includes(saved)) return saved;
    } catch (_) { /* storage off */ }
    for (const l of navigator.languages || [navigator.language || '']) {
      const code = String(l).toLowerCase().slice(0, 2);
      if (LANGS.includes(code)) return code;
    }
    return 'en';
  }

  function setLang(lang, remember) {
    state.lang = LANGS.includes(lang) ? lang : 'en';
    if (remember) {
      try { localStorage.setItem(LANG_KEY, state.lang); } catch (_) { /* storage off */ }
    }
    document.documentElement.lang = state.lang;
    $('lang-select').value = state.lang;
    document.title = 'Komek — ' + t('app_subtitle');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    fillCodeSelects();
    renderAll();
  }

  /** The selects whose options are codes (statuses, categories, languages). */
  function fillCodeSelects() {
    const fill = (select, codes, prefix, first) => {
      const keep = select.value;
      const opts = [];
      if (first) opts.push(el('option', { value: '', text: first }));
      for (const c of codes) opts.push(el('option', { value: c, text: label(prefix, c) }));
      select.replaceChildren(...opts);
      select.value = keep;
      if (select.selectedIndex < 0) select.selectedIndex = 0;
    };
    fill($('search-status'), STATUSES, 'st_', t('any_status'));
    fill($('tpl-filter-category'), CATEGORIES, 'cat_', t('all'));
    fill($('tpl-filter-language'), LANGS, 'lang_', t('all'));
    fill($('tpl-category'), CATEGORIES, 'cat_');
    fill($('tpl-language'), LANGS, 'lang_');
  }

  function renderAll() {
    if (!state.user) return;
    renderWhoami();
    renderLive();
    renderPresence();
    renderOffers();
    renderQueue();
    renderSearch();
    renderFeed();
    renderDepartments();
    if (state.view) renderRequest(false);
    if (isSupervisor()) {
      renderSupervisor();
      renderTemplates();
      renderTemplateForm();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Session
  // ---------------------------------------------------------------------------------------------
  const isSupervisor = () => state.user && state.user.role === 'supervisor';
  const me = () => (state.user ? state.user.login : null);

  function saveSession() {
    try {
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({
        token: state.token, user: state.user, expiresAt: state.expiresAt, presence: state.presence,
      }));
    } catch (_) { /* storage off */ }
  }

  function restoreSession() {
    try {
      const raw = sessionStorage.getItem(SESSION_KEY);
      if (!raw) return false;
      const s = JSON.parse(raw);
      if (!s || !s.token || !s.user || !(s.expiresAt > Date.now())) return false;
      state.token = s.token;
      state.user = s.user;
      state.expiresAt = s.expiresAt;
      state.presence = s.presence || null;
      return true;
    } catch (_) {
      return false;
    }
  }

  async function signIn(ev) {
    ev.preventDefault();
    const login = $('login-login').value.trim();
    const password = $('login-password').value;
    $('login-error').textContent = '';
    if (!login || !password) {
      $('login-error').textContent = t('signin_failed');
      return;
    }
    const button = $('login-submit');
    button.disabled = true;
    try {
      const ok = await api('POST', '/api/v1/auth/login', { login, password });
      if (ok.user.role !== 'agent' && ok.user.role !== 'supervisor') {
        $('login-error').textContent = t('staff_only');
        return;
      }
      state.token = ok.token;
      state.user = ok.user;
      state.expiresAt = Date.parse(ok.expires_at) || Date.now() + 3600e3;
      state.presence = null;
      $('login-password').value = '';
      saveSession();
      enterApp();
    } catch (e) {
      $('login-error').textContent = e.status === 401 ? t('signin_failed') : e.message;
    } finally {
      button.disabled = false;
    }
  }

  function enterApp() {
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('signout').hidden = false;
    $('whoami').hidden = false;
    $('live-status').hidden = false;
    $('tabs').hidden = !isSupervisor();
    showTab(isSupervisor() ? 'supervise' : 'work');
    renderAll();
    connectLive();
    refreshAll();
  }

  /** Leaves the signed-in state locally (the token is forgotten; the socket closed). */
  function endSession(message) {
    const ws = state.ws;
    state.ws = null;
    state.wsOpen = false;
    if (ws) ws.close();
    clearTimeout(state.reconnectTimer);
    clearTimeout(state.refreshTimer);
    state.pending.clear();
    Object.assign(state, {
      token: null, user: null, expiresAt: 0, presence: null, queue: null, offers: [], current: null, view: null,
      sv: null, templates: [], tplEditing: null, searchResult: null, searchParams: null, feed: [], backoff: 0,
    });
    state.offerExpiry.clear();
    try { sessionStorage.removeItem(SESSION_KEY); } catch (_) { /* storage off */ }
    for (const id of ['offers-list', 'queue-list', 'mine-list', 'search-results', 'live-feed', 'sv-agents',
      'sv-queues', 'sv-watchlist', 'tpl-list', 'reassign-agent']) {
      $(id).replaceChildren();
    }
    for (const id of ['reply-text', 'note-text', 'esc-reason', 'resolution-text', 'reassign-request', 'search-number',
      'search-phone', 'search-words']) {
      $(id).value = '';
    }
    $('search-total').textContent = '';
    $('reassign-result').textContent = '';
    $('tpl-form').hidden = true;
    showRequestPanel(false);
    $('app-view').hidden = true;
    $('signout').hidden = true;
    $('whoami').hidden = true;
    $('live-status').hidden = true;
    $('login-view').hidden = false;
    $('login-error').textContent = message || '';
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
    if (state.tab === 'supervise') schedule('sv', 'templates');
  }

  // ---------------------------------------------------------------------------------------------
  // Refreshing: every panel reloads from the API when a push says it changed.
  // ---------------------------------------------------------------------------------------------
  const LOADERS = {
    queue: () => loadQueue(),
    offers: () => loadOffers(),
    request: () => (state.current ? loadRequest(state.current, false) : null),
    sv: () => (isSupervisor() ? loadSupervisor() : null),
    templates: () => (isSupervisor() ? loadTemplates() : null),
    departments: () => loadDepartments(),
    search: () => (state.searchParams ? runSearch() : null),
  };

  /** Reloads the named panels soon, once for a burst of pushes. */
  function schedule(...names) {
    for (const n of names) state.pending.add(n);
    if (state.refreshTimer) return;
    state.refreshTimer = setTimeout(async () => {
      state.refreshTimer = null;
      const names = [...state.pending];
      state.pending.clear();
      if (!state.token) return;
      await Promise.all(names.map((n) => Promise.resolve().then(LOADERS[n]).catch(showError)));
    }, 120);
  }

  function refreshAll() {
    schedule('queue', 'offers', 'departments', 'request', 'sv', 'templates');
  }

  // ---------------------------------------------------------------------------------------------
  // Live updates over the WebSocket, reconnecting with backoff.
  // ---------------------------------------------------------------------------------------------
  function connectLive() {
    if (!state.token || state.ws) return;
    clearTimeout(state.reconnectTimer);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/api/v1/live?token=${encodeURIComponent(state.token)}`);
    } catch (_) {
      reconnectLater();
      return;
    }
    state.ws = ws;
    ws.addEventListener('open', () => {
      if (state.ws !== ws) return;
      state.wsOpen = true;
      state.backoff = 0;
      renderLive();
      // Whatever happened while the socket was down (or before it opened) is read again.
      refreshAll();
    });
    ws.addEventListener('message', (ev) => {
      if (state.ws !== ws) return;
      let note;
      try { note = JSON.parse(ev.data); } catch (_) { return; }
      if (note && typeof note === 'object') onNote(note);
    });
    ws.addEventListener('close', () => {
      if (state.ws !== ws) return;
      state.ws = null;
      state.wsOpen = false;
      renderLive();
      if (!state.token) return;
      if (Date.now() >= state.expiresAt) {
        endSession(t('session_expired'));
        return;
      }
      reconnectLater();
    });
  }

  function reconnectLater() {
    const delay = Math.min(30000, 500 * 2 ** state.backoff) * (0.75 + Math.random() / 2);
    state.backoff = Math.min(state.backoff + 1, 10);
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connectLive, delay);
  }

  function renderLive() {
    const node = $('live-status');
    node.dataset.state = state.wsOpen ? 'open' : 'off';
    node.textContent = state.wsOpen ? '● ' + t('live_open') : '○ ' + t('live_off');
  }

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
    if (note.request_id && note.request_id === state.current) schedule('request');
    if (state.searchResult && state.searchResult.items.some((r) => r.id === note.request_id)) schedule('search');
    if (isSupervisor()) schedule('sv');
    if (type.startsWith('deadline.') && note.owner === me()) {
      flash(t('deadline_alert', { number: note.number || '', what: label('ev_', type) }), 'warn');
    }
    if ((type === 'request.reassigned' || type === 'request.escalation_returned' || type === 'request.reopened')
      && note.owner === me()) {
      flash(`${label('ev_', type)}: ${note.number || ''}`, 'info');
    }
  }

  function renderFeed() {
    const items = state.feed.map((n) => el('li', { testid: 'feed-item', data: { type: n.type || '' } },
      el('time', { text: fmtTime(n.at) }), ' ',
      el('strong', { text: label('ev_', n.type) }), ' ',
      n.number ? openLink(n.request_id, n.number) : '',
      n.status ? el('span', { className: 'muted', text: ' · ' + label('st_', n.status) }) : ''));
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
      const left = Math.ceil((at - Date.now()) / 1000);
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

  function listOrNone(id, items) {
    $(id).replaceChildren(...(items.length ? items : [el('li', { className: 'muted', text: t('none') })]));
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
    const select = $('problem-select');
    const keep = select.value;
    const problems = (state.view && state.view.problems) || [];
    select.replaceChildren(el('option', { value: '', text: t('choose_problem') }),
      ...problems.map((p) => el('option', { value: p.id, text: `${p.number} · ${p.title}` })));
    select.value = problems.some((p) => p.id === keep) ? keep : '';
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
    const select = $('esc-department');
    const keep = select.value;
    select.replaceChildren(...state.departments.map((d) => el('option', { value: d.code, text: `${d.name} (${d.code})` })));
    if (state.departments.some((d) => d.code === keep)) select.value = keep;
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
        el('td', { text: fmtAge(q.oldest_age_secs) })))
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

    const select = $('reassign-agent');
    const keep = select.value;
    select.replaceChildren(...sv.agents.map((a) => el('option', { value: a.user.login,
      text: `${a.user.name} (${a.user.login}) · ${label('presence_', a.presence)} · ${a.load}/${a.user.capacity}` })));
    if (sv.agents.some((a) => a.user.login === keep)) select.value = keep;
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
    $('lang-select').addEventListener('change', (e) => setLang(e.target.value, true));
    $('login-form').addEventListener('submit', signIn);
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
    $('sv-refresh').addEventListener('click', () => schedule('sv', 'templates'));
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
    setLang(initialLang(), false);
    if (restoreSession()) enterApp();
    else $('login-login').focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
