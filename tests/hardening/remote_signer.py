"""A signer that holds its key in another process, like a KMS or HSM would (run as a script).

    python tests/hardening/remote_signer.py CA_CERT CA_KEY
prints the signer chain (PEM) and then ``PORT <n>`` on stdout, and signs each POSTed body with
ECDSA P-256/SHA-256 until stdin closes. The private key never leaves this process.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from provenance.home.identity import issue_signer, pem_cert


def main() -> None:
    ca_cert = x509.load_pem_x509_certificate(Path(sys.argv[1]).read_bytes())
    ca_key = serialization.load_pem_private_key(Path(sys.argv[2]).read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key, cert = issue_signer(ca_key, ca_cert, "Remote signer (key in another process)")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
            self.send_response(200)
            self.send_header("Content-Length", str(len(sig)))
            self.end_headers()
            self.wfile.write(sig)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write((pem_cert(cert) + pem_cert(ca_cert)).decode())
    sys.stdout.write(f"PORT {server.server_address[1]}\n")
    sys.stdout.flush()
    sys.stdin.read()  # serve until the test closes our stdin
    server.shutdown()


if __name__ == "__main__":
    main()
