# This file is part of receivable_collection.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
"Test helpers: a real SMTP server on 127.0.0.1 that keeps what it receives."
import email
import email.policy
import socket

from aiosmtpd.controller import Controller


def _free_port():
    "A port nobody listens on right now."
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class SMTPSink:
    "An aiosmtpd server collecting the messages sent to it."

    def __init__(self):
        self.messages = []
        self.port = _free_port()
        self.controller = Controller(self, hostname='127.0.0.1', port=self.port)

    @property
    def uri(self):
        "The URI to put in trytond's [email] uri."
        return f'smtp://127.0.0.1:{self.port}'

    async def handle_DATA(self, server, session, envelope):
        "Keep the message with its envelope recipients."
        message = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default)
        self.messages.append((tuple(envelope.rcpt_tos), message))
        return '250 OK'

    def start(self):
        "Listen."
        self.controller.start()
        return self

    def stop(self):
        "Stop listening."
        self.controller.stop()
