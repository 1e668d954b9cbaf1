# What the customer receives on their own channel (SMS, mail): acknowledgment, survey invitation, mail subjects and footer.

ack-received = Your request has been received, number { $number }. We will answer by { $due }. Komek
notify-survey-invitation = Please rate our work on request { $number }: { $link } Komek
mail-subject-acknowledgment = Your request is received
mail-subject-reply = Reply to your request
mail-subject-resolution = Your request is resolved
mail-subject-survey = Please rate our work
mail-footer = To add to your request, reply to this mail.
mail-status-link = The status of your request, and a way to add to it: { $link }
