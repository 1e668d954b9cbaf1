# What the customer receives on their own channel (SMS, mail): acknowledgment, survey invitation, mail subjects and footer.

ack-received = Сіздің өтінішіңіз қабылданды, нөмірі { $number }. Біз { $due } дейін жауап береміз. Komek
notify-survey-invitation = { $number } өтініші бойынша жұмысымызды бағалаңыз: { $link } Komek
mail-subject-acknowledgment = Өтінішіңіз қабылданды
mail-subject-reply = Өтінішіңіз бойынша жауап
mail-subject-resolution = Өтінішіңіз шешілді
mail-subject-survey = Жұмысымызды бағалаңыз
mail-footer = Өтінішке толықтыру үшін осы хатқа жауап беріңіз.
mail-status-link = Өтініштің күйі, мұнда оны толықтыруға да болады: { $link }
