# Қызметкерлер беттеріне ортақ мәтіндер (GET /i18n/kk.json): тарих мәліметтері және қате хабарлары.

history-detail-survey = CSAT { $csat }
history-detail-survey-comment = CSAT { $csat }: { $comment }
history-detail-deadline = { $deadline }: мерзімі { $due }
history-deadline-first_response = алғашқы жауап
history-deadline-resolution = шешім

error-bad_request = Сұранысты оқу мүмкін болмады.
error-invalid_fields = Өрістерді тексеріңіз.
error-too_large = Бір уақытта мәтін тым көп.
error-unsupported_media_type = Сұранысты оқу мүмкін болмады.
error-unauthorized = Қайта кіріңіз.
error-forbidden = Бұл әрекетке рұқсатыңыз жоқ.
error-not_found = Табылмады: мүмкін, жойылған.
error-conflict = Мұны біреу өзгертіп үлгерді. Жаңартып, қайталап көріңіз.
error-idempotency_key_reused = Бұл басқа мазмұнмен жіберілген.
error-rate_limited = Әрекеттер тым көп. Біраз уақыттан кейін қайталап көріңіз.
error-unavailable = Қызмет уақытша қолжетімсіз. Бір минуттан кейін қайталап көріңіз.
error-internal = Бізде қате шықты. Кейінірек қайталап көріңіз.
