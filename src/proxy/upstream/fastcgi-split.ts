// $fastcgi_script_name and $fastcgi_path_info as nginx computes them, lazily from the current URI and location:
// fastcgi_split_path_info's two captures (script, path info) when the regex matches, else the whole URI; a script
// name ending in `/` gets fastcgi_index appended. Lazy, so try_files, rewrite and `set` can use them before content;
// unlike nginx (ticket #321), `try_files $fastcgi_script_name` does not empty $fastcgi_path_info afterwards.
// Not the parameter list: cgi-params.ts evaluates fastcgi_param.

import '../variables.ts';
import type { Scope } from '../../config/scope.ts';
import type { Session } from '../../core/session.ts';
import { defineVariable, type Template } from '../../core/variables.ts';
import type { RequestSession } from '../session.ts';
import { FASTCGI_INDEX, FASTCGI_SPLIT_PATH_INFO } from './conf.ts';

interface SplitConf {
  regex: RegExp | undefined;
  index: Template | undefined;
}

const confs = new WeakMap<Scope, SplitConf>();

function confOf(scope: Scope | undefined): SplitConf {
  if (scope === undefined) return { regex: undefined, index: undefined };
  let c = confs.get(scope);
  if (c === undefined) {
    c = { regex: scope.get(FASTCGI_SPLIT_PATH_INFO), index: scope.get(FASTCGI_INDEX) };
    confs.set(scope, c);
  }
  return c;
}

interface Split {
  plan: unknown;
  script: string;
  info: string;
}

/** The last split per request: try_files that found $fastcgi_script_name made it the URI, which must not lose the path info. */
const lastSplit = new WeakMap<RequestSession, Split>();

/** Sets s.fastcgiScriptName and s.fastcgiPathInfo for the current URI and location, and returns the script name. */
export function splitFastcgiPath(s: RequestSession): string {
  const last = lastSplit.get(s);
  if (last !== undefined && last.plan === s.plan && last.info !== '' && s.uri === last.script) {
    s.fastcgiScriptName = last.script;
    s.fastcgiPathInfo = last.info;
    return last.script;
  }
  const c = confOf(s.plan?.scope);
  let script = s.uri;
  let info = '';
  if (c.regex !== undefined) {
    const m = c.regex.exec(s.uri);
    if (m !== null) {
      script = m[1] ?? '';
      info = m[2] ?? '';
    }
  }
  if (script.endsWith('/') && c.index !== undefined) script += c.index.evaluate(s);
  s.fastcgiScriptName = script;
  s.fastcgiPathInfo = info;
  if (info !== '') lastSplit.set(s, { plan: s.plan, script, info });
  return script;
}

defineVariable('fastcgi_script_name', (s: Session) => splitFastcgiPath(s as RequestSession));
defineVariable('fastcgi_path_info', (s: Session) => {
  splitFastcgiPath(s as RequestSession);
  return s.fastcgiPathInfo;
});
