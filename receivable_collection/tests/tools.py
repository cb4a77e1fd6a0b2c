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


class HTTPSink:
    "An HTTP server on 127.0.0.1 that records JSON posts and answers a set status."

    def __init__(self, status=200):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sink = self
        self.status = status
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                sink.requests.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(sink.status)
                self.send_header('Content-Type', 'application/json')
                self.end_headers()
                self.wfile.write(b'{}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        "The URL to post to."
        return f'http://127.0.0.1:{self.server.server_address[1]}/sms'

    def start(self):
        "Serve in a thread."
        self.thread.start()
        return self

    def stop(self):
        "Stop serving."
        self.server.shutdown()
        self.server.server_close()
