"""Context values the settings tests start from: the least a deployment needs, with cdk.json's placeholder IDs."""

from __future__ import annotations

INSTANCE = "00000000-0000-0000-0000-000000000000"
FLOW = "11111111-1111-1111-1111-111111111111"
MINIMAL = {"connectInstanceId": INSTANCE, "connectContactFlowId": FLOW, "sourcePhoneNumber": "+15555550100"}
