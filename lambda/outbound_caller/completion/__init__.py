"""Call completion: Amazon Connect's DISCONNECTED contact events in, `Outbound Call Completed` result events out."""
