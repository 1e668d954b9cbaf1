# Тексты, общие для страниц сотрудников (GET /i18n/ru.json): детали истории и сообщения об ошибках.

history-detail-survey = CSAT { $csat }
history-detail-survey-comment = CSAT { $csat }: { $comment }
history-detail-deadline = { $deadline }: срок до { $due }
history-deadline-first_response = первый ответ
history-deadline-resolution = решение

error-bad_request = Не удалось прочитать запрос.
error-invalid_fields = Проверьте поля формы.
error-too_large = Слишком много текста за раз.
error-unsupported_media_type = Не удалось прочитать запрос.
error-unauthorized = Войдите снова.
error-forbidden = У вас нет прав на это действие.
error-not_found = Не найдено: возможно, уже удалено.
error-conflict = Кто-то уже изменил это. Обновите и попробуйте снова.
error-idempotency_key_reused = Это уже отправлено с другим содержимым.
error-rate_limited = Слишком много попыток. Попробуйте позже.
error-unavailable = Сервис временно недоступен. Попробуйте через минуту.
error-internal = У нас произошла ошибка. Попробуйте позже.
