#!/usr/bin/python3
"""An agent written against the .proto files alone: enrol, then report one inventory.

Independent of the Rust code on purpose: the stubs are generated from
proto/proto/tokenwatch/v1/*.proto at run time with protoc and grpc_python_plugin, the key and
the CSR come from the `cryptography` module, and the transport is grpcio (C core), not tonic or
rustls. Needs the Debian packages protobuf-compiler, protobuf-compiler-grpc, python3-grpcio,
python3-grpc-tools (for the well-known .proto files) and python3-cryptography.

Usage: client.py --server HOST:PORT --ca CA.pem --secret SECRET --hostname NAME

Prints one JSON object: {"agent_id", "office", "changed", "duplicate_changed", "refusals"}, where
"refusals" maps each attempt that should fail (a wrong secret, a report without the client
certificate) to the gRPC status code name it got ("OK" if it was not refused).
Exits non-zero, with the gRPC status on stderr, when the server refuses anything.
"""

import argparse
import datetime
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

PROTO_ROOT = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "proto", "proto")
)
PROTOS = ["tokenwatch/v1/agent.proto", "tokenwatch/v1/inventory.proto"]
TIMEOUT = 10  # seconds, per call


def generate_stubs(out_dir):
    """Compile the .proto files into `out_dir` and import them."""
    import grpc_tools  # only for the well-known types (google/protobuf/timestamp.proto)

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    plugin = shutil.which("grpc_python_plugin")
    if plugin is None:
        sys.exit("grpc_python_plugin not found: install protobuf-compiler-grpc")
    subprocess.run(
        [
            "protoc",
            "-I" + PROTO_ROOT,
            "-I" + well_known,
            "--python_out=" + out_dir,
            "--grpc_python_out=" + out_dir,
            "--plugin=protoc-gen-grpc_python=" + plugin,
            *PROTOS,
        ],
        check=True,
    )
    sys.path.insert(0, out_dir)
    agent_pb2 = importlib.import_module("tokenwatch.v1.agent_pb2")
    agent_pb2_grpc = importlib.import_module("tokenwatch.v1.agent_pb2_grpc")
    inventory_pb2 = importlib.import_module("tokenwatch.v1.inventory_pb2")
    return agent_pb2, agent_pb2_grpc, inventory_pb2


def key_and_csr(hostname):
    """A P-256 key (PEM, PKCS#8) and a CSR for it (DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, csr.public_bytes(serialization.Encoding.DER)


def der_to_pem(der):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="HOST:PORT of the gRPC listener")
    parser.add_argument("--ca", required=True, help="PEM of the CA the server chains to")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--hostname", required=True)
    args = parser.parse_args()

    import grpc

    with tempfile.TemporaryDirectory(prefix="tokenwatch-py-") as tmp:
        agent_pb2, agent_pb2_grpc, inventory_pb2 = generate_stubs(tmp)
        with open(args.ca, "rb") as f:
            ca_pem = f.read()

        # Enrol over server-authenticated TLS; a wrong secret first.
        key_pem, csr_der = key_and_csr(args.hostname)
        anonymous = grpc.secure_channel(
            args.server, grpc.ssl_channel_credentials(root_certificates=ca_pem)
        )
        refusals = {}
        try:
            agent_pb2_grpc.AgentServiceStub(anonymous).Enroll(
                agent_pb2.EnrollRequest(
                    secret=args.secret + "-wrong",
                    csr_der=csr_der,
                    hostname=args.hostname,
                    agent_version="python-client",
                ),
                timeout=TIMEOUT,
            )
            refusals["wrong_secret"] = "OK"
        except grpc.RpcError as error:
            refusals["wrong_secret"] = error.code().name
        try:
            enrolled = agent_pb2_grpc.AgentServiceStub(anonymous).Enroll(
                agent_pb2.EnrollRequest(
                    secret=args.secret,
                    csr_der=csr_der,
                    hostname=args.hostname,
                    agent_version="python-client",
                ),
                timeout=TIMEOUT,
            )
        except grpc.RpcError as error:
            sys.exit(f"enrol refused: {error.code().name}: {error.details()}")
        finally:
            anonymous.close()
        if not enrolled.agent_id or not enrolled.certificate_der:
            sys.exit("the enrolment answer is incomplete")

        # Report over mutual TLS with the issued certificate.
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca_pem,
            private_key=key_pem,
            certificate_chain=der_to_pem(enrolled.certificate_der),
        )
        collected_at = inventory_pb2.google_dot_protobuf_dot_timestamp__pb2.Timestamp()
        collected_at.FromDatetime(datetime.datetime.utcnow())
        inventory = inventory_pb2.Inventory(
            schema="tokenwatch.inventory/v1",
            collected_at=collected_at,
            host=inventory_pb2.Host(
                hostname=args.hostname,
                os="Debian GNU/Linux",
                os_version="12",
                arch="x86_64",
                agent_version="python-client",
            ),
            readers=[
                inventory_pb2.Reader(
                    name="Aktiv Rutoken ECP 00 00",
                    card_present=True,
                    atr="3B8B015275746F6B656E20454350A0",
                    token_model="Rutoken ECP",
                    token_family=inventory_pb2.TOKEN_FAMILY_RUTOKEN,
                )
            ],
        )
        report = agent_pb2.ReportRequest(
            sequence=1, content_hash=bytes(range(32)), inventory=inventory
        )
        # Without the client certificate the report is refused.
        anonymous = grpc.secure_channel(
            args.server, grpc.ssl_channel_credentials(root_certificates=ca_pem)
        )
        try:
            agent_pb2_grpc.AgentServiceStub(anonymous).Report(report, timeout=TIMEOUT)
            refusals["report_without_certificate"] = "OK"
        except grpc.RpcError as error:
            refusals["report_without_certificate"] = error.code().name
        finally:
            anonymous.close()
        channel = grpc.secure_channel(args.server, credentials)
        try:
            stub = agent_pb2_grpc.AgentServiceStub(channel)
            first = stub.Report(report, timeout=TIMEOUT)
            # The same sequence again: accepted, changes nothing.
            again = stub.Report(report, timeout=TIMEOUT)
        except grpc.RpcError as error:
            sys.exit(f"report refused: {error.code().name}: {error.details()}")
        finally:
            channel.close()

    json.dump(
        {
            "agent_id": enrolled.agent_id,
            "office": enrolled.office,
            "changed": first.changed,
            "duplicate_changed": again.changed,
            "refusals": refusals,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
