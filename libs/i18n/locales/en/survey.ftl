# The survey page (survey service).

survey-title = Komek — survey
survey-intro = Please rate the service you received for request { $number }.
survey-csat = How satisfied are you? (1 — very dissatisfied, 5 — very satisfied)
survey-comment = Your comment (optional)
survey-send = Send
survey-thanks = Thank you! Your answer has been saved.
survey-done = This survey has already been answered.
survey-failed = Sending failed. Please try again.
survey-pick = Please choose a score.
survey-comment-long = The comment can have at most 2000 characters.
survey-not-found = Survey not found
survey-not-found-hint = The link is wrong or has expired.
