"""The fake account and Region every local resource lives in, and the only address local servers listen on."""

LOCAL_REGION = "us-east-1"
# moto's fixed account for every resource it creates.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_HOST = "127.0.0.1"  # never listen beyond this machine
