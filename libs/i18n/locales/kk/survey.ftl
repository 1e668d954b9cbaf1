# The survey page (survey service).

survey-title = Komek — сауалнама
survey-intro = Өтініш { $number } бойынша қызмет көрсету сапасын бағалаңыз.
survey-csat = Қызметке қаншалықты риза болдыңыз? (1 — мүлдем риза емеспін, 5 — өте ризамын)
survey-comment = Пікіріңіз (міндетті емес)
survey-send = Жіберу
survey-thanks = Рақмет! Жауабыңыз сақталды.
survey-done = Бұл сауалнамаға жауап берілген.
survey-failed = Жіберу сәтсіз аяқталды. Қайталап көріңіз.
survey-pick = Бағаны таңдаңыз.
survey-comment-long = Пікір 2000 таңбадан аспауы керек.
survey-not-found = Сауалнама табылмады
survey-not-found-hint = Сілтеме қате немесе мерзімі өткен.
