import type { HsmInfo, HsmKey, HsmMechanism } from './admin.js';

function mechanismText(m: HsmMechanism): string {
  if (!m.supported) return `${m.name} (not offered)`;
  const uses = [m.sign && 'sign', m.verify && 'verify', m.generate_key_pair && 'generate'].filter(Boolean).join('/');
  const size = m.min_key_size !== undefined ? `, ${m.min_key_size}-${m.max_key_size} bits` : '';
  return `${m.name} (${uses || 'no sign/verify/generate'}${size})`;
}

function keyFlags(k: HsmKey): string {
  const f: string[] = [];
  const flag = (v: boolean | undefined, yes: string, no: string) => {
    if (v !== undefined) f.push(v ? yes : no);
  };
  flag(k.local, 'local', 'imported');
  flag(k.sensitive, 'sensitive', 'not-sensitive');
  flag(k.extractable, 'EXTRACTABLE', 'non-extractable');
  flag(k.always_sensitive, 'always-sensitive', 'not-always-sensitive');
  flag(k.never_extractable, 'never-extractable', 'was-extractable');
  flag(k.sign, 'sign', 'no-sign');
  return f.join(' ');
}

/**
 * What `hsmInfo` found, as lines of text for a person (`erst hsm info`):
 * the module, each slot's token with its flags and mechanisms, then the
 * keys and certificates on the selected token. The lines quote token and
 * key labels and certificate names as the token gives them: escape each one
 * (`escapeForDisplay` of `@erst/core`) before it reaches a terminal.
 * `note` rewrites each of `info.notes` (they name options in backticks, for
 * a command line to name its flags).
 */
export function describeHsmInfoText(info: HsmInfo, note: (text: string) => string = (text) => text): string[] {
  const m = info.module;
  const lines = [
    `module ${m.path}: ${m.manufacturer}, "${m.description}" ${m.library_version} (Cryptoki ${m.cryptoki_version})`,
  ];
  if (info.slots.length === 0) lines.push('no slot holds a token');
  for (const s of info.slots) {
    const t = s.token;
    if (!t?.initialized) {
      lines.push(`slot ${s.index} (ID ${s.slot_id}): uninitialized token (${s.description})`);
      continue;
    }
    lines.push(
      `slot ${s.index} (ID ${s.slot_id}): token "${t.label}", model ${t.model}, serial ${t.serial || '-'}, ${t.manufacturer}`,
      `  flags: ${t.flags.join(' ') || '-'}`,
      `  mechanisms: ${t.mechanisms.map(mechanismText).join(', ')}; ${t.mechanism_count} in all`,
    );
  }
  if (info.selected_slot !== null) {
    const t = info.slots.find((s) => s.index === info.selected_slot)?.token;
    lines.push(`objects on "${t?.label ?? ''}" (slot ${info.selected_slot})${info.logged_in ? '' : ', public only'}:`);
    if (info.keys.length === 0) lines.push('  no keys');
    for (const k of info.keys) {
      const flags = keyFlags(k);
      lines.push(
        `  ${k.class.padEnd(7)} key "${k.label}" ID ${k.id || '-'} ${k.algorithm}${flags ? `: ${flags}` : ''}`,
      );
    }
    for (const c of info.certificates) {
      lines.push(
        `  certificate "${c.label}" ID ${c.id || '-'}: subject ${c.subject}; issuer ${c.issuer}; expires ${c.not_after || '?'}`,
      );
    }
  }
  for (const n of info.notes) lines.push(`note: ${note(n)}`);
  return lines;
}
