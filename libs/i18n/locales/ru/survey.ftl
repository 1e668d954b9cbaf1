# The survey page (survey service).

survey-title = Komek — опрос
survey-intro = Оцените, пожалуйста, качество обслуживания по обращению { $number }.
survey-csat = Насколько вы довольны обслуживанием? (1 — совсем недоволен, 5 — очень доволен)
survey-comment = Ваш комментарий (необязательно)
survey-send = Отправить
survey-thanks = Спасибо! Ваш ответ сохранён.
survey-done = На этот опрос уже ответили.
survey-failed = Не удалось отправить. Попробуйте ещё раз.
survey-pick = Выберите оценку.
survey-comment-long = Комментарий — не длиннее 2000 символов.
survey-not-found = Опрос не найден
survey-not-found-hint = Ссылка неверна или устарела.
