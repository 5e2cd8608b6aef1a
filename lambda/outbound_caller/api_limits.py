"""The limits of Connect's StartOutboundVoiceContact API, enforced before the call is made.

botocore's client-side validation checks only minimums, so the maximums and patterns below are
taken from the API's service model (botocore data connect/2017-08-08) and its reference pages.
"""

# PhoneNumber shape: E.164, a plus sign, first digit 1-9, at most 15 digits in all. ASCII digits only:
# "\d" would also match other scripts' digits (Arabic-Indic, Devanagari, ...), which Connect cannot dial.
E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
# InstanceId shape: 1-100 characters.
INSTANCE_ID_MAX_LENGTH = 100
# ContactFlowId shape: at most 500 characters.
CONTACT_FLOW_ID_MAX_LENGTH = 500
# Name shape: 0-1,024 characters; Description: 0-4,096.
NAME_MAX_LENGTH = 1024
DESCRIPTION_MAX_LENGTH = 4096
# ContactId shape (RelatedContactId): 1-256 characters.
CONTACT_ID_MAX_LENGTH = 256
# ClientToken shape: at most 500 characters; an empty token is refused by the contract.
CLIENT_TOKEN_MAX_LENGTH = 500
# CampaignId shape: 1-100 characters.
CAMPAIGN_ID_MAX_LENGTH = 100
# RingTimeoutInSeconds shape: 15-60 seconds.
RING_TIMEOUT_MIN_SECONDS = 15
RING_TIMEOUT_MAX_SECONDS = 60
# "There can be up to 32,768 UTF-8 bytes across all key-value pairs per contact."
ATTRIBUTES_MAX_BYTES = 32_768
# "Attribute keys can include only alphanumeric, dash, and underscore characters."
ATTRIBUTE_KEY_PATTERN = r"^[A-Za-z0-9_-]+$"
# "You can have up to 4,096 UTF-8 bytes across all references for a contact."
REFERENCES_MAX_BYTES = 4096
# Reference shapes: ReferenceArn 20-256 characters, ReferenceStatusReason at most 100.
REFERENCE_ARN_MIN_LENGTH = 20
REFERENCE_ARN_MAX_LENGTH = 256
REFERENCE_STATUS_REASON_MAX_LENGTH = 100
# The opt-out function's own: the most numbers one direct invocation takes (the operators' `suppress` command sends
# batches of it). Lambda's 6 MB synchronous payload holds far more; the invocation's time (one write and one
# announcement per number) is what bounds a batch.
MAX_NUMBERS_PER_INVOCATION = 500
