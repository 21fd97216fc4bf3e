"""Stand-ins for SAMAD and the inspection organization: they speak the remote side of the adapter
contract (docs/gateway-openapi.yaml), keep their cases in memory, and inject faults on demand."""
