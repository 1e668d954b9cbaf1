# Texts the staff pages share (served by GET /i18n/en.json): history details and error messages.
# History details are built from the entry's data: `history-detail-survey` from "CSAT <n>[: <comment>]",
# `history-detail-deadline` from "<first_response|resolution> due <DD.MM.YYYY HH:MM>".

history-detail-survey = CSAT { $csat }
history-detail-survey-comment = CSAT { $csat }: { $comment }
history-detail-deadline = { $deadline } due { $due }
history-deadline-first_response = first response
history-deadline-resolution = resolution

error-bad_request = The request could not be read.
error-invalid_fields = Please check the fields.
error-too_large = Too much text at once.
error-unsupported_media_type = The request could not be read.
error-unauthorized = Please sign in again.
error-forbidden = You are not allowed to do this.
error-not_found = Not found: it may have been removed.
error-conflict = Someone changed this meanwhile. Reload and try again.
error-idempotency_key_reused = This was already sent with other content.
error-rate_limited = Too many attempts. Please try again later.
error-unavailable = The service is unavailable for a moment. Please try again in a minute.
error-internal = Something went wrong on our side. Please try again later.
