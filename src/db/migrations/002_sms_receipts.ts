/** Delivery receipts that arrive before the send they confirm is recorded (a fast SMSC can do that). */
export const up = `
CREATE TABLE sms_receipts (
  provider_id text PRIMARY KEY,
  delivered boolean NOT NULL,
  status text NOT NULL,
  received_at timestamptz NOT NULL
);
`;
