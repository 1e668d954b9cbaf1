"""Creates the staff user the load signs in as, its API token and the queue tickets go to
(idempotent); prints the queue's id and the token."""
import sys

import django

django.setup()
from django.contrib.auth import get_user_model  # noqa: E402
from helpdesk.models import Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

user, password = sys.argv[1], sys.argv[2]
User = get_user_model()
u, _ = User.objects.get_or_create(username=user, defaults={"email": f"{user}@example.kz"})
u.is_staff = True
u.is_superuser = True
u.set_password(password)
u.save()
q, _ = Queue.objects.get_or_create(
    slug="support", defaults={"title": "Support", "email_address": "support@example.kz"}
)
token, _ = Token.objects.get_or_create(user=u)
print(q.id, token.key)
