// nginx's command-line flags with nginx's meanings: -? -h -v -V -t -T -q -s signal -p prefix -e file -c file
// -g directives; single-letter flags may be combined (-tq), values attached (-cfile) or separate (-c file).

export interface CliArgs {
  help: boolean;
  version: boolean;
  versionFull: boolean;
  test: boolean;
  dump: boolean;
  quiet: boolean;
  signal: string | undefined;
  prefix: string | undefined;
  errorLog: string | undefined;
  conf: string | undefined;
  globals: string | undefined;
}

export class ArgsError extends Error {}

const SIGNALS = ['stop', 'quit', 'reopen', 'reload'];

export function parseArgs(argv: readonly string[]): CliArgs {
  const a: CliArgs = {
    help: false,
    version: false,
    versionFull: false,
    test: false,
    dump: false,
    quiet: false,
    signal: undefined,
    prefix: undefined,
    errorLog: undefined,
    conf: undefined,
    globals: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg.length < 2) throw new ArgsError(`invalid option: "${arg}"`);
    for (let j = 1; j < arg.length; j++) {
      const f = arg[j];
      const value = (): string => {
        const rest = arg.slice(j + 1);
        j = arg.length;
        if (rest !== '') return rest;
        const next = argv[++i];
        if (next === undefined) throw new ArgsError(`option "-${f}" requires ${f === 's' ? 'signal name' : f === 'g' ? 'parameter' : f === 'p' ? 'directory name' : 'file name'}`);
        return next;
      };
      switch (f) {
        case '?':
        case 'h':
          a.help = true;
          break;
        case 'v':
          a.version = true;
          break;
        case 'V':
          a.versionFull = true;
          break;
        case 't':
          a.test = true;
          break;
        case 'T':
          a.test = true;
          a.dump = true;
          break;
        case 'q':
          a.quiet = true;
          break;
        case 'p':
          a.prefix = value();
          break;
        case 'e':
          a.errorLog = value();
          break;
        case 'c':
          a.conf = value();
          break;
        case 'g':
          a.globals = value();
          break;
        case 's': {
          const s = value();
          if (!SIGNALS.includes(s)) throw new ArgsError(`invalid option: "-s ${s}"`);
          a.signal = s;
          break;
        }
        default:
          throw new ArgsError(`invalid option: "${arg.slice(j)}"`);
      }
    }
  }
  return a;
}

export const USAGE = `Usage: portico [-?hvVtTq] [-s signal] [-p prefix]
             [-e filename] [-c filename] [-g directives]

Options:
  -?,-h         : this help
  -v            : show version and exit
  -V            : show version and configure options then exit
  -t            : test configuration and exit
  -T            : test configuration, dump it and exit
  -q            : suppress non-error messages during configuration testing
  -s signal     : send signal to a master process: stop, quit, reopen, reload
  -p prefix     : set prefix path (default: the Portico installation directory)
  -e filename   : set error log file (default: logs/error.log)
  -c filename   : set configuration file (default: conf/portico.conf)
  -g directives : set global directives out of configuration file
`;
