import { bytesToHex, publicKeyToPem } from '@erst/core';
import type { HsmInfo, HsmKey, HsmMechanism } from '@erst/signer-pkcs11';
import { type RunContext, handle, helpExample } from '@erst/cli-harness';
import type { Argv, CommandModule } from 'yargs';
import { EXIT, inFlagTerms } from '../exit.js';
import { displayLines } from '../output.js';
import { type TokenArgs, resolvePin, withTokenOptions } from '../pkcs11-args.js';

interface InfoArgs extends TokenArgs {
  json?: boolean;
  login?: boolean;
}

interface GenerateArgs extends TokenArgs {
  label: string;
  id?: string;
  'piv-slot'?: string;
  algorithm: string;
  pem?: boolean;
}

const WITH_ENV = 'with ERST_PKCS11_MODULE and ERST_PKCS11_PIN set';

function slotArg(slot: string | undefined): Promise<number | undefined> {
  return slot === undefined ? Promise.resolve(undefined) : import('@erst/signer-pkcs11').then((m) => m.parseSlot(slot));
}

function mechanismLine(m: HsmMechanism): string {
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

export function describeHsmInfo(info: HsmInfo): string {
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
    );
    lines.push(`  flags: ${t.flags.join(' ') || '-'}`);
    lines.push(`  mechanisms: ${t.mechanisms.map(mechanismLine).join(', ')}; ${t.mechanism_count} in all`);
  }
  if (info.selected_slot !== null) {
    const t = info.slots.find((s) => s.index === info.selected_slot)?.token;
    lines.push(`objects on "${t?.label ?? ''}" (slot ${info.selected_slot})${info.logged_in ? '' : ', public only'}:`);
    if (info.keys.length === 0) lines.push('  no keys');
    for (const k of info.keys) {
      lines.push(
        `  ${k.class.padEnd(7)} key "${k.label}" ID ${k.id || '-'} ${k.algorithm}${keyFlags(k) ? `: ${keyFlags(k)}` : ''}`,
      );
    }
    for (const c of info.certificates) {
      lines.push(
        `  certificate "${c.label}" ID ${c.id || '-'}: subject ${c.subject}; issuer ${c.issuer}; expires ${c.not_after || '?'}`,
      );
    }
  }
  for (const n of info.notes) lines.push(`note: ${inFlagTerms(n)}`);
  return `${displayLines(lines)}\n`;
}

export function hsmCommand(ctx: RunContext): CommandModule {
  const info: CommandModule<object, InfoArgs> = {
    command: 'info',
    describe: 'Show the PKCS#11 module, its slots and tokens, the mechanisms erst needs, and the keys on the token',
    builder: (y: Argv) =>
      withTokenOptions(y)
        .option('json', { type: 'boolean', describe: 'Print JSON' })
        .option('login', { type: 'boolean', describe: 'Ask for the PIN on a terminal to list private keys too' })
        .example(helpExample('$0 hsm info', `Everything about the token, private keys included (${WITH_ENV})`))
        .example(
          helpExample(
            '$0 hsm info --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --json',
            'Slots, tokens and public objects as JSON',
          ),
        ) as unknown as Argv<InfoArgs>,
    handler: handle(ctx, async (argv: InfoArgs) => {
      const lib = await import('@erst/signer-pkcs11');
      const pin = await resolvePin(argv, process.env, argv.login === true);
      const config = lib.pkcs11ConfigFromEnv(process.env, {
        module: argv['pkcs11-module'],
        tokenLabel: argv['token-label'],
        slot: await slotArg(argv.slot),
        pin,
      });
      const result = await lib.hsmInfo(config);
      process.stdout.write(argv.json ? `${JSON.stringify(result, null, 2)}\n` : describeHsmInfo(result));
      return EXIT.OK;
    }),
  };

  const generate: CommandModule<object, GenerateArgs> = {
    command: 'generate',
    describe: 'Generate a key pair on the token (sensitive, never extractable) and print its public key',
    builder: (y: Argv) =>
      withTokenOptions(y)
        .option('label', { type: 'string', demandOption: true, describe: 'CKA_LABEL of the new key pair' })
        .option('id', { type: 'string', describe: 'CKA_ID in hex (default: 8 random bytes)' })
        .option('piv-slot', { type: 'string', describe: 'YubiKey PIV slot to generate in (sets the CKA_ID)' })
        .option('algorithm', {
          type: 'string',
          choices: ['ed25519', 'ecdsa-p256'],
          default: 'ed25519',
          describe: 'Key algorithm',
        })
        .option('pem', { type: 'boolean', describe: 'Print SPKI PEM instead of hex' })
        .example(
          helpExample(
            '$0 hsm keys generate --label audit-2026',
            `Make an Ed25519 signing key on the token and print it (${WITH_ENV})`,
          ),
        )
        .example(
          helpExample(
            '$0 hsm keys generate --label audit-p256 --id 0a --algorithm ecdsa-p256',
            'An ECDSA P-256 key (YubiKeys before firmware 5.7)',
          ),
        )
        .example(
          helpExample(
            '$0 hsm keys generate --label audit --piv-slot 9c --algorithm ecdsa-p256',
            'On a YubiKey (ykcs11): in PIV slot 9c',
          ),
        ) as unknown as Argv<GenerateArgs>,
    handler: handle(ctx, async (argv: GenerateArgs) => {
      const lib = await import('@erst/signer-pkcs11');
      const pin = await resolvePin(argv, process.env, true);
      const config = lib.pkcs11ConfigFromEnv(process.env, {
        module: argv['pkcs11-module'],
        tokenLabel: argv['token-label'],
        slot: await slotArg(argv.slot),
        pin,
      });
      const key = await lib.generateTokenKeyPair({
        module: config.module,
        tokenLabel: config.tokenLabel,
        slot: config.slot,
        pin: config.pin,
        label: argv.label,
        id: argv.id,
        pivSlot: argv['piv-slot'],
        algorithm: lib.parseAlgorithm(argv.algorithm),
      });
      process.stdout.write(argv.pem ? publicKeyToPem(key.publicKey) : `${bytesToHex(key.publicKey.raw)}\n`);
      process.stderr.write(
        `${displayLines([
          `generated ${key.algorithm} key "${key.label}" (ID ${key.id}) on token "${key.tokenLabel}": sensitive, not extractable.`,
          `Sign with: erst audit sign --hsm-provider pkcs11 --key-label ${JSON.stringify(key.label)} ...; pin the public key above with --public-key`,
        ])}\n`,
      );
      return EXIT.OK;
    }),
  };

  const keys: CommandModule = {
    command: 'keys <command>',
    describe: 'Manage keys on the token',
    builder: (y: Argv) =>
      y
        .command(generate as CommandModule)
        .demandCommand(1, 'Name an hsm keys command: generate.')
        .example(
          helpExample(
            '$0 hsm keys generate --label audit-2026',
            `Make an Ed25519 signing key on the token (${WITH_ENV})`,
          ),
        ),
    handler: () => {},
  };

  return {
    command: 'hsm <command>',
    describe: 'Inspect a PKCS#11 token (HSM, YubiKey, SoftHSM) and make keys on it',
    builder: (y: Argv) =>
      y
        .command(info as CommandModule)
        .command(keys)
        .demandCommand(1, 'Name an hsm command: info or keys.')
        .example(helpExample('$0 hsm info', `What the token holds (${WITH_ENV})`)),
    handler: () => {},
  };
}
