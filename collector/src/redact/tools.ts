/**
 * Per-tool argument rules: where a program takes a secret that nothing in the
 * argument itself gives away (`mysql -phunter2`, `htpasswd -b f user pw`,
 * `smbclient -U user%pw`, `xfreerdp /p:pw`, `openssl -passin pass:pw`), and
 * the flags of a program whose names look secret but whose values are not
 * (`psql --password` prompts; `docker build --secret id=x,src=f` names a file).
 *
 * Sources: each tool's manual page or CLI reference (see the corpus under
 * collector/test/fixtures/redact/, one documented invocation per entry).
 */

export interface ToolRule {
  /** The rule applies only after this positional word (a subcommand: `login`, `set`). */
  after?: string;
  /** Flags whose value is secret: the next argument, `--flag=value`, or attached to a short flag (`-pVALUE`). */
  value?: string[];
  /** Short `value` flags take no attached value (OpenSSL: `-keyout` is not `-k eyout`). */
  noAttach?: boolean;
  /** Only the attached or `=` form carries the value; alone the flag prompts (`mysql -p`, `7z -p`). */
  attached?: string[];
  /** Flags that look secret by name but whose value is not (`psql --password` prompts). */
  plain?: string[];
  /** Flags whose value is `user<sep>password`: flag -> separator. */
  userPass?: Record<string, string>;
  /** Arguments starting with these carry the secret after them (`xfreerdp /p:pw`). */
  prefixed?: string[];
  /** OpenSSL pass phrase arguments: `pass:x` is masked, `env:VAR` and `file:path` are not. */
  passArg?: string[];
  /** Flags whose value is `name=secret` (`kubectl create secret --from-literal=k=v`). */
  literal?: string[];
  /** 1-based positions among the non-flag arguments after `after` (or after the program) that are secret. */
  positional?: number[];
  /** After `after`, arguments come as NAME VALUE pairs: VALUE is masked when NAME is secret. */
  pairs?: boolean;
  /** After `after`, every `NAME=value` holds a secret, whatever the name (`vault kv put`, `fly secrets set`). */
  allAssignments?: boolean;
  /** With this letter in a short-flag cluster, the last positional argument is the password (`htpasswd -b`, `-nb`). */
  lastPositionalWith?: string;
  /** Positionals like `user/password@db` (Oracle) or `domain/user:password@host` (Impacket). */
  credentialTarget?: 'slash' | 'colon';
}

const TOOLS = new Map<string, ToolRule[]>();
function tool(names: string[], ...rules: ToolRule[]): void {
  for (const n of names) TOOLS.set(n, [...(TOOLS.get(n) ?? []), ...rules]);
}

// --- databases -----------------------------------------------------------
tool(
  [
    'mysql',
    'mysqldump',
    'mysqladmin',
    'mysqlimport',
    'mysqlshow',
    'mysqlcheck',
    'mysqlpump',
    'mysqlslap',
    'mysqlbinlog',
    'mariadb',
    'mariadb-dump',
    'mariadb-admin',
    'mariadb-import',
    'mariadb-check',
    'mysqlsh',
  ],
  { attached: ['-p', '--password'] }
);
tool(
  [
    'psql',
    'pg_dump',
    'pg_dumpall',
    'pg_restore',
    'createdb',
    'dropdb',
    'createuser',
    'pg_basebackup',
    'vacuumdb',
    'reindexdb',
    'pg_isready',
  ],
  {
    plain: ['-W', '--password'],
  }
);
tool(
  [
    'mongo',
    'mongosh',
    'mongodump',
    'mongorestore',
    'mongoexport',
    'mongoimport',
    'mongostat',
    'mongotop',
    'mongofiles',
  ],
  {
    value: ['-p'],
  }
);
tool(
  ['redis-cli', 'keydb-cli', 'valkey-cli'],
  { value: ['-a', '--pass'] },
  { after: 'SET', pairs: true },
  { after: 'set', pairs: true }
);
tool(['cqlsh'], { value: ['-p'] });
tool(['cypher-shell'], { value: ['-p'] });
tool(['sqlcmd', 'bcp', 'osql'], { value: ['-P'] });
tool(['isql'], { positional: [3] });
tool(['influx'], { value: ['-password', '-p', '-t'] });
tool(['sqlplus', 'sqlldr', 'expdp', 'impdp', 'exp', 'imp', 'rman', 'dgmgrl'], { credentialTarget: 'slash' });
tool(['etcdctl'], { userPass: { '--user': ':' } });
tool(['rabbitmqctl'], { after: 'add_user', positional: [2] }, { after: 'change_password', positional: [2] });
// --- HTTP, FTP, mail -----------------------------------------------------
tool(['curl'], {
  userPass: { '-u': ':', '--user': ':', '-U': ':', '--proxy-user': ':', '-E': ':', '--cert': ':' },
  value: ['--oauth2-bearer', '--pass', '--proxy-pass'],
  literal: ['-b', '--cookie'],
});
tool(['http', 'https', 'xh', 'xhs'], { userPass: { '-a': ':', '--auth': ':' } });
tool(['wget', 'wget2'], { plain: ['--ask-password'] });
tool(['lftp'], { userPass: { '-u': ',' } });
tool(['ncftp', 'ncftpget', 'ncftpput', 'ncftpls'], { value: ['-p'] });
tool(['swaks'], { value: ['-ap', '--auth-password'] });
tool(['sendemail'], { value: ['-xp'] });
tool(['transmission-remote'], { userPass: { '-n': ':', '--auth': ':' } });
tool(['jenkins-cli.jar', 'jenkins-cli'], { userPass: { '-auth': ':' } });
tool(['sqlmap'], { userPass: { '--auth-cred': ':' } });
// --- remote access and Windows networks ----------------------------------
tool(['sshpass'], { value: ['-p'] });
tool(['plink', 'pscp', 'psftp', 'putty'], { value: ['-pw'] });
tool(['xfreerdp', 'xfreerdp3', 'wlfreerdp', 'sdl-freerdp', 'sdl-freerdp3'], {
  prefixed: ['/p:', '/password:', '/pth:', '/gp:', '/gat:', '/gt:'],
});
tool(['rdesktop'], { value: ['-p'] });
tool(['x11vnc'], { value: ['-passwd', '-viewpasswd'] });
tool(['smbclient', 'rpcclient', 'smbcacls', 'smbget', 'smbtree', 'net', 'smbpasswd', 'wbinfo'], {
  userPass: { '-U': '%', '--user': '%' },
});
tool(['smbmap'], { value: ['-p'] });
tool(['evil-winrm'], { value: ['-p', '-H'] });
tool(['crackmapexec', 'cme', 'nxc', 'netexec'], { value: ['-p', '-H'] });
tool(['hydra', 'medusa', 'ncrack'], { value: ['-p'] });
tool(
  [
    'psexec.py',
    'wmiexec.py',
    'smbexec.py',
    'atexec.py',
    'dcomexec.py',
    'secretsdump.py',
    'GetUserSPNs.py',
    'GetNPUsers.py',
    'smbclient.py',
    'mssqlclient.py',
    'impacket-psexec',
    'impacket-wmiexec',
    'impacket-smbexec',
    'impacket-secretsdump',
    'impacket-getuserspns',
    'impacket-mssqlclient',
    'impacket-smbclient',
  ],
  { credentialTarget: 'colon', value: ['-hashes', '-aesKey'] }
);
tool(
  [
    'ldapsearch',
    'ldapadd',
    'ldapmodify',
    'ldapdelete',
    'ldapwhoami',
    'ldapcompare',
    'ldapmodrdn',
    'ldapexop',
    'ldapurl',
  ],
  {
    value: ['-w'],
  }
);
tool(['ldappasswd'], { value: ['-w', '-s', '-a'] });
// --- archives and crypto -------------------------------------------------
tool(['zip', 'zipcloak'], { value: ['-P', '--password'] });
tool(['unzip', 'funzip', 'zipinfo'], { value: ['-P'] });
tool(['7z', '7za', '7zr', '7zz'], { attached: ['-p'] });
tool(['rar', 'unrar'], { attached: ['-p', '-hp'] });
tool(
  ['openssl'],
  { passArg: ['-passin', '-passout', '-pass'], value: ['-k', '-K'], noAttach: true },
  { after: 'passwd', positional: [1] }
);
tool(['keytool', 'jarsigner'], {
  value: ['-storepass', '-keypass', '-srcstorepass', '-deststorepass', '-srckeypass', '-destkeypass', '-new'],
});
tool(['ssh-keygen'], { value: ['-N', '-P'] });
tool(['useradd', 'usermod'], { value: ['-p', '--password'] });
tool(['htpasswd'], { lastPositionalWith: 'b' });
// --- cloud, container and Kubernetes CLIs ---------------------------------
tool(
  [
    'docker',
    'podman',
    'nerdctl',
    'buildah',
    'skopeo',
    'oras',
    'helm',
    'oc',
    'crane',
    'regctl',
    'cf',
    'ibmcloud',
  ],
  {
    after: 'login',
    value: ['-p'],
  }
);
tool(['docker', 'podman', 'nerdctl', 'buildah', 'buildctl'], { plain: ['--secret'] });
tool(['skopeo'], { userPass: { '--creds': ':', '--src-creds': ':', '--dest-creds': ':' } });
tool(['az'], { value: ['-p'] }, { after: 'secret', value: ['--value'] });
tool(
  ['aws'],
  { after: 'set', pairs: true },
  { after: 'put-parameter', value: ['--value'] },
  { plain: ['--secret-id'] }
);
tool(['gcloud'], { plain: ['--secret'] });
tool(['heroku'], { after: 'config:set', allAssignments: true });
tool(['mosquitto_pub', 'mosquitto_sub', 'mosquitto_rr'], { value: ['-P'] });
tool(['wpa_passphrase'], { positional: [2] });
tool(['nmcli'], { after: 'connect', pairs: true }, { after: 'modify', pairs: true });
tool(['ngrok'], { after: 'add-authtoken', positional: [1] });
tool(['kubectl', 'oc'], { literal: ['--from-literal'] });
tool(['doctl'], { after: 'auth', value: ['-t'] });
tool(['gh'], { plain: ['--with-token'] }, { after: 'secret', value: ['-b', '--body'] });
tool(
  ['vault'],
  { after: 'login', positional: [1] },
  { after: 'put', allAssignments: true },
  { after: 'patch', allAssignments: true }
);
tool(['fly', 'flyctl'], { after: 'set', allAssignments: true });
tool(['mc', 'mcli'], { after: 'set', positional: [3, 4] }, { after: 'add', positional: [3, 4] });
tool(['rclone'], { after: 'create', pairs: true }, { after: 'update', pairs: true });
tool(['npm', 'pnpm', 'yarn'], { after: 'set', pairs: true });
tool(['git'], { after: 'config', pairs: true });
tool(['cargo'], { after: 'login', positional: [1] });
tool(['twine'], { value: ['-p'] });
tool(['dotnet', 'nuget'], { after: 'push', value: ['-k'] });
// --- miners: the pool password -------------------------------------------
tool(
  [
    'xmrig',
    'xmr-stak',
    'xmr-stak-rx',
    'cpuminer',
    'minerd',
    'cgminer',
    'bfgminer',
    'sgminer',
    'ethminer',
    't-rex',
    'lolminer',
    'nbminer',
    'srbminer-multi',
    'teamredminer',
    'phoenixminer',
    'gminer',
    'miner',
    'ccminer',
    'nanominer',
    'xmrig-proxy',
  ],
  { value: ['-p'], userPass: { '-O': ':', '--userpass': ':' } }
);

/** The rules for a program (by its base name), or undefined. */
export function toolRules(program: string): readonly ToolRule[] | undefined {
  return TOOLS.get(program);
}

/** Every program name that has rules. */
export function toolNames(): Iterable<string> {
  return TOOLS.keys();
}
