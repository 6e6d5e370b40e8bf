"""The Python gRPC stubs of the repo's proto/*.proto, generated at test time with
python3-grpc-tools by the client's own loader (clients/f8client.py).

    from grpc_stubs import pb, pb_grpc, health, health_grpc
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients"))
from f8client import load_grpc_stubs  # noqa: E402

pb, pb_grpc, health, health_grpc = load_grpc_stubs()
