"""Removes one Komek prefix's queues and exchanges from RabbitMQ (as komek_testkit::cleanup does)."""
import sys

import pika

prefix = sys.argv[1]
url = sys.argv[2] if len(sys.argv) > 2 else "amqp://guest:guest@127.0.0.1:5672/%2f"
conn = pika.BlockingConnection(pika.URLParameters(url))
ch = conn.channel()
for q in ["workspace", "escalation", "survey", "intake", "parking", "audit"]:
    ch.queue_delete(f"{prefix}.{q}")
for x in ["events", "dlx"]:
    ch.exchange_delete(f"{prefix}.{x}")
conn.close()
print(f"peers: removed the queues and exchanges of {prefix}")
