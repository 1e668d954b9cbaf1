# What the customer receives on their own channel (SMS, mail): acknowledgment, survey invitation, mail subjects and footer.

ack-received = Ваше обращение принято, номер { $number }. Мы ответим до { $due }. Komek
notify-survey-invitation = Оцените, пожалуйста, нашу работу по обращению { $number }: { $link } Komek
mail-subject-acknowledgment = Ваше обращение принято
mail-subject-reply = Ответ по вашему обращению
mail-subject-resolution = Ваше обращение решено
mail-subject-survey = Оцените нашу работу
mail-footer = Чтобы дополнить обращение, ответьте на это письмо.
mail-status-link = Статус обращения, и здесь же можно его дополнить: { $link }
