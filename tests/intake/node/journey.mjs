// A billing system written for Node with the Temporal TypeScript client: it starts a
// journey, sends an opt-out and a payment, and waits for the result, plainly or through
// Rapport's remote codec (docs/billing-integration.md shows the same in TypeScript).
//
//   node journey.mjs CONFIG_JSON
//   {"address", "taskQueue", "account", "journey", "codec": {"url", "token"} | null}
// prints one JSON line: {"outcome": ...} or {"failed": message}
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';

const config = JSON.parse(process.argv[2]);

// Rapport's remote codec: POST {url}/codec/encode|decode with {"payloads": [...]} in
// protobuf JSON (metadata values and data in base64), Authorization: Bearer TOKEN.
class RapportCodec {
  constructor(url, token) { this.url = url; this.token = token; }
  encode(payloads) { return this.call('encode', payloads); }
  decode(payloads) { return this.call('decode', payloads); }
  async call(direction, payloads) {
    const b64 = (bytes) => Buffer.from(bytes ?? []).toString('base64');
    const body = {
      payloads: payloads.map((p) => ({
        metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
        data: b64(p.data),
      })),
    };
    const headers = { 'Content-Type': 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const answer = await fetch(`${this.url}/codec/${direction}`, {
      method: 'POST', headers, body: JSON.stringify(body),
    });
    if (!answer.ok) throw new Error(`codec ${direction}: ${answer.status} ${await answer.text()}`);
    const bytes = (text) => new Uint8Array(Buffer.from(text ?? '', 'base64'));
    return (await answer.json()).payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, bytes(v)])),
      data: bytes(p.data),
    }));
  }
}

const connection = await Connection.connect({ address: config.address });
const client = new Client({
  connection,
  dataConverter: config.codec
    ? { payloadCodecs: [new RapportCodec(config.codec.url, config.codec.token)] }
    : undefined,
});
const account = config.account;
const handle = await client.workflow.start('DelinquencyJourney', {
  taskQueue: config.taskQueue,
  workflowId: `delinquency-${account.account_id}`,
  args: [{ account, journey: config.journey }],
  workflowIdConflictPolicy: 'USE_EXISTING',
  workflowIdReusePolicy: 'ALLOW_DUPLICATE',
});
try {
  if (config.codec) {
    await handle.query('status'); // the journey has begun
    await handle.signal('opt_out', { channel: 'sms' });
    await handle.signal('payment_received', {
      amount: account.balance, currency: account.currency, payment_id: 'TS-PAY-1',
    });
  }
  const result = await handle.result();
  console.log(JSON.stringify({ outcome: result.outcome, paid: result.paid }));
} catch (error) {
  if (!(error instanceof WorkflowFailedError)) throw error;
  console.log(JSON.stringify({ failed: String(error.cause?.message ?? error.message) }));
}
await connection.close();
