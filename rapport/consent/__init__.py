"""Consent: what a customer said about being contacted (opt-outs, ceases, opt-ins), kept
in the store so it outlives any one journey, and the answer a send asks for right
before it goes. Table: `rapport.store.consent`; keywords: `rapport.compliance.keywords`."""
