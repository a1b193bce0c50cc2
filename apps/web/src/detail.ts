import { type VerifyResult, describeRecord, describeRecordText } from '@erst/verify';
import { $, h } from './dom.js';

function kv(pairs: [string, string | Node][]): HTMLElement {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

function issues(list: { code: string; message: string }[]): Node {
  if (list.length === 0) return document.createTextNode('none');
  return h('ul', { class: 'issues' }, ...list.map((i) => h('li', {}, h('code', {}, i.code), ` ${i.message}`)));
}

function fields(list: string[]): string {
  return list.length ? list.join(', ') : 'none';
}

/** The attestation as the verifier decoded it: the verdict, the token's claims, YubiKey details, the chain. */
function attestation(r: VerifyResult): Node[] {
  const a = r.attestation;
  if (!a) return [h('p', {}, 'The record carries no hardware attestation.')];
  const out: Node[] = [
    kv([
      ['Attested', a.attested ? 'yes: the chain leads to a root you pinned' : 'no'],
      ['Token', a.claims.token_info],
      ['Key non-exportable (claimed)', a.claims.key_non_exportable ? 'yes' : 'no'],
    ]),
  ];
  if (a.vendor) {
    const v = a.vendor;
    const pairs: [string, string][] = [['Vendor', v.vendor === 'yubico' ? 'Yubico (YubiKey)' : v.vendor]];
    if (v.firmware !== undefined) pairs.push(['Firmware', v.firmware]);
    if (v.serial !== undefined) pairs.push(['Serial', String(v.serial)]);
    if (v.pin_policy !== undefined) pairs.push(['PIN policy', v.pin_policy]);
    if (v.touch_policy !== undefined) pairs.push(['Touch policy', v.touch_policy]);
    if (v.form_factor !== undefined) pairs.push(['Form factor', v.form_factor]);
    out.push(h('h4', {}, 'Device'), kv(pairs));
  }
  if (a.chain.length) {
    out.push(
      h('h4', {}, 'Certificate chain'),
      h(
        'ol',
        {},
        ...a.chain.map((c) =>
          h('li', {}, `${c.subject} (issued by ${c.issuer}; ${c.key_algorithm}; ${c.not_before} to ${c.not_after})`),
        ),
      ),
    );
  }
  if (a.errors.length) out.push(h('h4', {}, 'Attestation errors'), issues(a.errors));
  return out;
}

/** The RFC 3161 timestamp as the verifier judged it: the TSA's word only once its token verified under a pinned root. */
function timestamp(r: VerifyResult): string {
  const t = r.timestamp_token;
  if (!t) return 'none';
  const accuracy = t.accuracy === null ? '' : ` (±${t.accuracy} ms)`;
  if (t.verified) return `timestamped ${t.timestamped_at}${accuracy} by "${t.tsa}": verified under a pinned TSA root`;
  return `unproven: the token says ${t.timestamped_at}${accuracy} by "${t.tsa ?? 'an unnamed TSA'}", and it did not verify under a pinned TSA root (see the warnings and errors)`;
}

/** What the record states, as `erst audit inspect` prints it (token contents, proof, attestation); null when it does not parse. */
async function contents(source: string, bytes: Uint8Array): Promise<string | null> {
  try {
    return describeRecordText(source, await describeRecord(bytes), {
      verifyLog: 'pin its log key above',
      verifyTimestamp: 'pin its TSA root above',
      verifyAttestation: 'pin its attestation root above',
    }).join('\n');
  } catch {
    // The verdict above already says why (its errors): a record that does not parse has no contents to show.
    return null;
  }
}

/** Fills and opens the record detail dialog (a modal <dialog>: focus moves in, Escape closes). */
export async function showDetail(source: string, bytes: Uint8Array, r: VerifyResult): Promise<void> {
  $('detail-title').textContent = source;
  const key = r.key ? `${r.key.algorithm} ${r.key.public_key}${r.key.label ? ` (${r.key.label})` : ''}` : 'unknown';
  const log = r.log
    ? `${r.log.origin}, entry ${r.log.index} of ${r.log.tree_size}: ${r.log.verified ? 'verified' : 'not verified'} (checkpoint key: ${r.log.key})`
    : 'none';
  const text = await contents(source, bytes);
  $('detail-body').replaceChildren(
    kv([
      ['Verdict', r.valid ? 'valid' : 'invalid'],
      ['Format', r.format ?? 'unknown'],
      ['Hash', r.integrity.hash],
      ['Signature', r.integrity.signature],
      ['Trust', r.trust],
      ['Key', key],
      ['Timestamp', r.timestamp ?? 'none'],
      ['Transaction', r.transaction_hash ?? 'none'],
      ['Trace hash', r.trace_hash ?? 'none'],
      ['Covered fields', fields(r.covered)],
      ['Uncovered fields', fields(r.uncovered)],
      ['Log proof', log],
      ['Timestamp token', timestamp(r)],
    ]),
    h('h3', {}, 'Errors'),
    issues(r.errors),
    h('h3', {}, 'Warnings'),
    issues(r.warnings),
    h('h3', {}, 'Attestation'),
    ...attestation(r),
    h('h3', {}, 'What the record states'),
    text === null ? h('p', {}, 'It does not parse as a record.') : h('pre', { class: 'contents' }, text),
  );
  const body = $('detail-body');
  body.dataset.valid = String(r.valid);
  body.dataset.timestamp = r.timestamp_token ? (r.timestamp_token.verified ? 'verified' : 'unverified') : 'none';
  const dialog = $<HTMLDialogElement>('detail');
  if (!dialog.open) dialog.showModal();
}
