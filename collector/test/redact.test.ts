import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { makeEvent } from '@casefile/schema';
import { MASK, redactArgs, redactEvent, redactText } from '../src/redact';

const R = MASK;

/** [command line in, expected out]: secrets masked, everything else untouched. */
const TEXT_CASES: Array<[string, string]> = [
  // password flags
  ['app --password=hunter2 --verbose', `app --password=${R} --verbose`],
  ['app --password hunter2 --verbose', `app --password ${R} --verbose`],
  ['app --db-password=s3cr3t', `app --db-password=${R}`],
  ['app --passwd x1', `app --passwd ${R}`],
  ['vault login --token=s.abcdef123456', `vault login --token=${R}`],
  ['app --api-key 12345abcdef', `app --api-key ${R}`],
  ['app --client-secret=abc', `app --client-secret=${R}`],
  ['app --auth-token=zzz', `app --auth-token=${R}`],
  ['app --secret-key=AbC', `app --secret-key=${R}`],
  // mysql family and friends
  ['mysql -u root -phunter2 shop', `mysql -u root -p${R} shop`],
  // mysql -p alone prompts: the next word is the database (mysql(1))
  ['mysql -u root -p shop', 'mysql -u root -p shop'],
  ['/usr/bin/mysqldump -psecret db', `/usr/bin/mysqldump -p${R} db`],
  ['sudo mysql -psecret', `sudo mysql -p${R}`],
  ['sshpass -p hunter2 ssh host', `sshpass -p ${R} ssh host`],
  ['redis-cli -a hunter2 ping', `redis-cli -a ${R} ping`],
  ['curl -u admin:hunter2 https://x', `curl -u admin:${R} https://x`],
  // connection strings
  ['psql postgres://app:hunter2@db:5432/x', `psql postgres://app:${R}@db:5432/x`],
  [
    'mongo mongodb+srv://u:p%40ss@cluster0.example.net/db',
    `mongo mongodb+srv://u:${R}@cluster0.example.net/db`,
  ],
  ['redis-cli -u redis://:pw@cache:6379', `redis-cli -u redis://:${R}@cache:6379`],
  // headers and bearer tokens
  [
    'curl -H Authorization: Bearer eyJhbGciOi.abc.def https://api',
    `curl -H Authorization: Bearer ${R} https://api`,
  ],
  ['curl -H authorization:basic dXNlcjpwYXNz', `curl -H authorization:basic ${R}`],
  ['curl -H X-Api-Key: k-123456 https://api', `curl -H X-Api-Key: ${R} https://api`],
  ['wget --header=X-Auth-Token:abcdef https://x', `wget --header=X-Auth-Token:${R} https://x`],
  ['http GET https://x bearer abcdefghijk', `http GET https://x bearer ${R}`],
  // env-style assignments
  ['env PGPASSWORD=hunter2 psql', `env PGPASSWORD=${R} psql`],
  ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG aws s3 ls', `AWS_SECRET_ACCESS_KEY=${R} aws s3 ls`],
  ['GITHUB_TOKEN=abc API_KEY=def SSH_KEY=ghi run', `GITHUB_TOKEN=${R} API_KEY=${R} SSH_KEY=${R} run`],
  ['sh -c "export DB_PASS=x1; ./run"', `sh -c "export DB_PASS=${R}; ./run"`],
  ['curl https://x/cb?access_token=abc&state=1', `curl https://x/cb?access_token=${R}&state=1`],
  // self-evident token shapes
  ['aws --key AKIAIOSFODNN7EXAMPLE', `aws --key ${R}`],
  ['echo AKIAIOSFODNN7EXAMPLE', `echo ${R}`],
  [
    'git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/x',
    `git clone https://${R}@github.com/x`,
  ],
  ['notify xoxb-123456789012-abcdefghij', `notify ${R}`],
  ['pay sk_live_abcdefghijklmnop1234', `pay ${R}`],
  ['call eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N', `call ${R}`],
  [
    'echo -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- done',
    `echo -----BEGIN RSA PRIVATE KEY-----${R}-----END RSA PRIVATE KEY----- done`,
  ],
];

/** Lookalikes that are NOT secrets and must pass unchanged. */
const FALSE_POSITIVES: string[] = [
  'ls -la /etc/passwd',
  'cat /etc/shadow',
  'nc -l -p 8080',
  'ssh -p 2222 user@host',
  'grep -p pattern file',
  'passwd alice',
  'app --passthrough=yes --author=bob',
  'app --password-file=/run/secrets/db',
  'app --token-path /var/run/token',
  'KEYBOARD=us MONKEY=1 PATH=/bin:/usr/bin HOME=/root run',
  'git clone https://github.com:443/org/repo.git',
  'scp file user@host:/tmp/x',
  'curl -u admin https://x',
  'docker run -p 8080:80 -e MODE=prod nginx',
  'echo "quoted \' text" | sed s/a/b/',
  'python3 -c print(1+2)',
  'kubectl get pods -o jsonpath={.items[*].metadata.name}',
  'bearer',
  'echo AKIA',
  '',
];

test('redaction table: secrets are masked, names kept', () => {
  for (const [input, want] of TEXT_CASES) equal(redactText(input), want, JSON.stringify(input));
});

test('redaction table: lookalikes are left alone', () => {
  for (const s of FALSE_POSITIVES) equal(redactText(s), s, JSON.stringify(s));
});

test('argv: values that contain spaces and positional secrets', () => {
  deepStrictEqual(redactArgs(['app', '--password', 'correct horse battery', '-v']), [
    'app',
    '--password',
    R,
    '-v',
  ]);
  deepStrictEqual(redactArgs(['mysql', '-uroot', '--password=pw', 'db']), [
    'mysql',
    '-uroot',
    `--password=${R}`,
    'db',
  ]);
  deepStrictEqual(redactArgs(['curl', '--user=a:b c', 'https://x']), ['curl', `--user=a:${R}`, 'https://x']);
  deepStrictEqual(redactArgs(['app', '--password']), ['app', '--password']);
  deepStrictEqual(redactArgs(['app', '--password', '--next']), ['app', '--password', '--next']);
  deepStrictEqual(redactArgs(['nc', '-l', '-p', '8080']), ['nc', '-l', '-p', '8080']);
});

test('redactEvent masks message, command line and args; returns the same object when clean', () => {
  const e = makeEvent({
    type: 'process.start',
    pid: 1,
    executable: '/usr/bin/mysql',
    message: 'mysql -u root -phunter2 started',
    commandLine: 'mysql -u root -phunter2',
    args: ['mysql', '-u', 'root', '-phunter2'],
  });
  const r = redactEvent(e);
  equal(r.message, `mysql -u root -p${R} started`);
  equal(r.commandLine, `mysql -u root -p${R}`);
  deepStrictEqual(r.args, ['mysql', '-u', 'root', `-p${R}`]);
  ok(!JSON.stringify(r).includes('hunter2'));
  equal(e.commandLine, 'mysql -u root -phunter2', 'input not mutated');
  const clean = makeEvent({
    type: 'process.start',
    pid: 1,
    executable: '/bin/ls',
    message: 'ls -la',
    commandLine: 'ls -la',
    args: ['ls', '-la'],
  });
  equal(redactEvent(clean), clean);
});
