"""A webhook receiver the production cluster may deliver to.

Production ZakOps only delivers to https URLs, verified against the system's trust store, and
never to a private, loopback or link-local address (WebhookAddressPolicy; preflight fails
WEBHOOK_ALLOW_PRIVATE in production, so the cluster cannot turn that off). So the receiver:

- listens on an IPv4 address of this machine outside WebhookAddressPolicy.forbidden (the first
  global one, else 198.51.100.254/32 added to lo for the test and removed after);
- serves TLS with a certificate for that address, signed by a CA made for the test, whose key
  is deleted as soon as the certificate is signed;
- makes the instances trust that CA for the test's duration: a hashed link in /etc/ssl/certs
  (the directory swift-nio-ssl's default trust reads on Linux; it is consulted at each
  verification, so running instances see it), removed at close. Needs root.

Each delivery is recorded (webhook-id, start and end times, body, the sender's port; `verifies`
checks the Standard Webhooks signature), then answered 200 after `delay` seconds. `sender`
names the process a delivery in flight comes from.
"""
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Sources/ZakOpsApp/Webhooks/WebhookAddressPolicy.swift, `forbidden` (IPv4).
FORBIDDEN = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32")]
FALLBACK = "198.51.100.254"
TRUST_DIR = "/etc/ssl/certs"


def allowed(address):
    ip = ipaddress.ip_address(address)
    return not any(ip in network for network in FORBIDDEN)


def run(*command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


class WebhookReceiver:
    def __init__(self, delay=1.0):
        if os.geteuid() != 0:
            raise RuntimeError("the webhook receiver needs root (it installs a CA in /etc/ssl/certs for the test)")
        self.delay = delay
        self.secret = None
        self.records = []
        self.active = []  # deliveries being received (answered after `delay`)
        self.lock = threading.Lock()
        self.added_address = None
        self.trust_link = None
        # In the cluster's folder when there is one: `scripts/cluster.sh stop` removes it even if
        # this process dies before close() (the trust link then points nowhere).
        parent = os.environ.get("ZAKOPS_CLUSTER_DIR")
        self.folder = tempfile.mkdtemp(prefix="webhook-receiver-", dir=parent if parent and os.path.isdir(parent) else None)
        try:
            self.address = self._address()
            self._certificates()
            self._trust()
            self._serve()
        except BaseException:
            self.close()
            raise

    def _address(self):
        for line in run("ip", "-o", "-4", "addr", "show").splitlines():
            parts = line.split()
            if "inet" in parts:
                address = parts[parts.index("inet") + 1].split("/")[0]
                if allowed(address):
                    return address
        run("ip", "addr", "add", f"{FALLBACK}/32", "dev", "lo")
        self.added_address = FALLBACK
        return FALLBACK

    def _certificates(self):
        f = lambda name: os.path.join(self.folder, name)
        curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run("openssl", "req", "-x509", *curve, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1",
            "-subj", f"/CN=ZakOps cluster test webhook CA {os.getpid()} {time.time_ns()}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("openssl", "req", "-new", *curve, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", f"/CN={self.address}")
        with open(f("server.ext"), "w") as ext:
            ext.write(f"subjectAltName=IP:{self.address}\nbasicConstraints=critical,CA:FALSE\n"
                      "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        run("openssl", "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial",
            "-days", "1", "-extfile", f("server.ext"), "-out", f("server.pem"))
        # Nothing can be signed with the trusted CA any more.
        os.remove(f("ca.key"))
        os.chmod(f("server.key"), 0o600)
        os.chmod(f("ca.pem"), 0o644)
        os.chmod(self.folder, 0o755)

    def _trust(self):
        subject_hash = run("openssl", "x509", "-subject_hash", "-noout", "-in", os.path.join(self.folder, "ca.pem")).strip()
        for n in range(10):
            link = os.path.join(TRUST_DIR, f"{subject_hash}.{n}")
            if not os.path.lexists(link):
                os.symlink(os.path.join(self.folder, "ca.pem"), link)
                self.trust_link = link
                return
        raise RuntimeError(f"no free {subject_hash}.N in {TRUST_DIR}")

    def _serve(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                started = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                record = {"id": self.headers.get("webhook-id"), "timestamp": self.headers.get("webhook-timestamp"),
                          "signature": self.headers.get("webhook-signature"), "body": body, "start": started, "end": None,
                          "path": self.path, "peer_port": self.client_address[1]}
                with receiver.lock:
                    receiver.active.append(record)
                time.sleep(receiver.delay)
                record["end"] = time.time()
                with receiver.lock:
                    receiver.active.remove(record)
                    receiver.records.append(record)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((self.address, 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(self.folder, "server.pem"), os.path.join(self.folder, "server.key"))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"https://{self.address}:{self.port}/zakops-webhook"

    def in_flight(self):
        with self.lock:
            return list(self.active)

    def sender(self, record, pids):
        """Which of `pids` holds the connection a delivery came on: the process with the socket
        whose local end is the delivery's peer port (/proc/net/tcp, /proc/PID/fd)."""
        inode = None
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                ip_hex, port_hex = fields[1].split(":")
                remote_port = int(fields[2].split(":")[1], 16)
                if int(port_hex, 16) == record["peer_port"] and remote_port == self.port:
                    inode = fields[9]
        if inode is None:
            return None
        for pid in pids:
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                            return pid
                    except OSError:
                        pass
            except OSError:
                pass
        return None

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def verifies(self, record):
        """Whether the record's signature is the Standard Webhooks HMAC under the secret."""
        if not self.secret or not record["signature"]:
            return False
        key = base64.b64decode(self.secret[len("whsec_"):])
        signed = f"{record['id']}.{record['timestamp']}.".encode() + record["body"]
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return expected in record["signature"].split(" ")

    @staticmethod
    def payload(record):
        return json.loads(record["body"])

    def close(self):
        server = getattr(self, "server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
        if self.trust_link and os.path.islink(self.trust_link):
            os.remove(self.trust_link)
        if self.added_address:
            subprocess.run(["ip", "addr", "del", f"{self.added_address}/32", "dev", "lo"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
