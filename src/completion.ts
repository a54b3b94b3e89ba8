// Shell completion scripts for bash, zsh and fish, generated from the CLI's command table so
// that they can never drift from what the parser accepts.
import { UsageError } from './errors';

export interface CompletionSpec {
  program: string;
  /** The program's own options, e.g. ['--config', '--debug', '--root', '--help', '--version']. */
  globalOptions: string[];
  /** Options that take a value, and what kind of value (for file/dir completion). */
  valueOptions: Record<string, 'file' | 'dir'>;
  /** Each command with every option it takes (the global ones that apply included) and its argument words. */
  commands: { name: string; description: string; options: string[]; args?: string[] }[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

export function completionScript(shell: string, spec: CompletionSpec): string {
  switch (shell) {
    case 'bash':
      return bash(spec);
    case 'zsh':
      return zsh(spec);
    case 'fish':
      return fish(spec);
    default:
      throw new UsageError(`completion: unknown shell '${shell}', expected one of: ${SHELLS.join(', ')}`);
  }
}

function fnName(program: string): string {
  return `_${program.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function bash(spec: CompletionSpec): string {
  const fn = fnName(spec.program);
  const cases = spec.commands
    .map((c) => {
      const words = [...c.options, ...(c.args ?? [])].join(' ');
      return `        ${c.name}) opts="${words}" ;;`;
    })
    .join('\n');
  const fileOpts = Object.entries(spec.valueOptions)
    .map(([opt, kind]) => `        ${opt}) COMPREPLY=( $(compgen ${kind === 'dir' ? '-d' : '-f'} -- "$cur") ); return 0 ;;`)
    .join('\n');
  return `# bash completion for ${spec.program}
# Install: ${spec.program} completion bash > /etc/bash_completion.d/${spec.program}
${fn}() {
    local cur prev cmd i opts
    COMPREPLY=()
    cur="\${COMP_WORDS[COMP_CWORD]}"
    prev="\${COMP_WORDS[COMP_CWORD-1]}"
    case "$prev" in
${fileOpts}
    esac
    cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "\${COMP_WORDS[i]}" in
            ${Object.keys(spec.valueOptions).join('|')}) ((i++)) ;;
            -*) ;;
            *) cmd="\${COMP_WORDS[i]}"; break ;;
        esac
    done
    case "$cmd" in
        "") opts="${[...spec.commands.map((c) => c.name), ...spec.globalOptions].join(' ')}" ;;
${cases}
        *) opts="${spec.globalOptions.join(' ')}" ;;
    esac
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    return 0
}
complete -F ${fn} ${spec.program}
`;
}

function zshQuote(text: string): string {
  return text.replace(/'/g, "'\\''").replace(/:/g, '\\:');
}

function zsh(spec: CompletionSpec): string {
  const fn = fnName(spec.program);
  const optSpec = (opt: string) => {
    const kind = spec.valueOptions[opt];
    if (kind === 'file') return `'${opt}=[${opt.slice(2)}]:file:_files'`;
    if (kind === 'dir') return `'${opt}=[${opt.slice(2)}]:directory:_files -/'`;
    return `'${opt}[${opt.slice(2)}]'`;
  };
  const globals = spec.globalOptions.map(optSpec).join(' \\\n        ');
  const commands = spec.commands.map((c) => `        '${c.name}:${zshQuote(c.description)}'`).join('\n');
  const cases = spec.commands
    .map((c) => {
      const args = [...c.options.map(optSpec)];
      if (c.args?.length) args.push(`'1:${c.name} argument:(${c.args.join(' ')})'`);
      return `        ${c.name}) _arguments ${args.length ? args.join(' ') : "'*: :'"} ;;`;
    })
    .join('\n');
  return `#compdef ${spec.program}
# zsh completion for ${spec.program}
# Install: ${spec.program} completion zsh > "\${fpath[1]}/_${spec.program}"
${fn}() {
    local -a commands
    commands=(
${commands}
    )
    local curcontext="$curcontext" state line
    _arguments -C \\
        ${globals} \\
        '1: :->command' \\
        '*:: :->args'
    case $state in
        command) _describe -t commands '${spec.program} command' commands ;;
        args)
            case $line[1] in
${cases}
            esac
            ;;
    esac
}
if [[ "\${funcstack[1]}" == "${fn}" ]]; then
    ${fn} "$@"
else
    compdef ${fn} ${spec.program}
fi
`;
}

function fishQuote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fish(spec: CompletionSpec): string {
  const p = spec.program;
  const names = spec.commands.map((c) => c.name).join(' ');
  const lines = [`# fish completion for ${p}`, `# Install: ${p} completion fish > ~/.config/fish/completions/${p}.fish`, `complete -c ${p} -f`];
  for (const opt of spec.globalOptions) {
    const kind = spec.valueOptions[opt];
    const value = kind === 'file' ? ' -r -F' : kind === 'dir' ? " -r -a '(__fish_complete_directories)'" : '';
    lines.push(`complete -c ${p} -l ${opt.slice(2)}${value}`);
  }
  for (const c of spec.commands) {
    lines.push(`complete -c ${p} -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d ${fishQuote(c.description)}`);
    for (const opt of c.options) lines.push(`complete -c ${p} -n "__fish_seen_subcommand_from ${c.name}" -l ${opt.slice(2)}`);
    if (c.args?.length) lines.push(`complete -c ${p} -n "__fish_seen_subcommand_from ${c.name}" -a ${fishQuote(c.args.join(' '))}`);
  }
  return `${lines.join('\n')}\n`;
}
