"""The CDK infrastructure of connect-outbound-caller: settings, one construct per concern, the stack."""
