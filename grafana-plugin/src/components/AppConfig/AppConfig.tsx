import React, { useState } from 'react';
import { lastValueFrom } from 'rxjs';
import { css } from '@emotion/css';
import { GrafanaTheme2, type AppPluginMeta, type PluginConfigPageProps } from '@grafana/data';
import { DataSourcePicker, getBackendSrv } from '@grafana/runtime';
import { Alert, Button, Field, FieldSet, Input, SecretInput, Stack, useStyles2 } from '@grafana/ui';
import { testIds } from '@casefile/timeline-ui';
import { DEFAULT_SNAPSHOT_CAP, type AppSecureSettings, type AppSettings } from '../../settings';
import { errorText, request } from '../../queries/http';
import { SERVER_BASE } from '../../queries/server';

export type AppConfigProps = PluginConfigPageProps<AppPluginMeta<AppSettings>>;

interface Form {
  lokiUid: string;
  serverUrl: string;
  token: string;
  tokenSet: boolean;
  snapshotCap: string;
}

/** A server URL the plugin route can use: http(s), no trailing slash. Returns an error sentence or undefined. */
export function checkServerUrl(url: string): string | undefined {
  if (!url) return 'The server URL is required';
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'Use an http:// or https:// URL';
  } catch {
    return 'Not a URL';
  }
  return url.endsWith('/') ? 'Remove the trailing slash' : undefined;
}

/** The app's configuration: Loki data source, server URL and token (secure), snapshot cap. */
export function AppConfig({ plugin }: AppConfigProps) {
  const styles = useStyles2(getStyles);
  const { enabled, pinned, jsonData, secureJsonFields } = plugin.meta;
  const [form, setForm] = useState<Form>({
    lokiUid: jsonData?.lokiUid ?? '',
    serverUrl: jsonData?.serverUrl ?? '',
    token: '',
    tokenSet: Boolean(secureJsonFields?.serverToken),
    snapshotCap: String(jsonData?.snapshotCap ?? DEFAULT_SNAPSHOT_CAP),
  });
  const [status, setStatus] = useState<{ ok: boolean; text: string }>();
  // The server's package-signing key, shown so an auditor can compare it with a package's (casefile verify --key).
  const [signingKey, setSigningKey] = useState<{ keyId: string; publicKeyPem: string }>();
  const urlError = form.serverUrl ? checkServerUrl(form.serverUrl) : undefined;
  const cap = Number(form.snapshotCap);
  const capError = Number.isInteger(cap) && cap >= 1 ? undefined : 'A whole number of snapshots, at least 1';
  const valid =
    Boolean(form.lokiUid) &&
    !checkServerUrl(form.serverUrl) &&
    !capError &&
    (form.tokenSet || form.token !== '');

  const save = async () => {
    const secureJsonData: AppSecureSettings | undefined = form.tokenSet
      ? undefined
      : { serverToken: form.token };
    try {
      await lastValueFrom(
        getBackendSrv().fetch({
          url: `api/plugins/${plugin.meta.id}/settings`,
          method: 'POST',
          data: {
            enabled: enabled ?? true,
            pinned: pinned ?? true,
            jsonData: {
              lokiUid: form.lokiUid,
              serverUrl: form.serverUrl,
              snapshotCap: cap,
            } satisfies AppSettings,
            secureJsonData,
          },
          showErrorAlert: false,
        })
      );
      setStatus({ ok: true, text: 'Saved. Reloading…' });
      window.location.reload();
    } catch (e) {
      setStatus({ ok: false, text: errorText(e, 'Saving the settings') });
    }
  };

  const test = async () => {
    try {
      const r = await request<{ total: number }>('GET', `${SERVER_BASE}/snapshots`, { params: { limit: 1 } });
      setStatus({
        ok: true,
        text: `The server answered through the plugin route: ${r.total} snapshot(s) stored.`,
      });
      // A server without the route (older than the signed packages) shows no key; the test still passed.
      setSigningKey(
        await request<{ keyId: string; publicKeyPem: string }>('GET', `${SERVER_BASE}/signing-key`).catch(
          () => undefined
        )
      );
    } catch (e) {
      setStatus({ ok: false, text: (e as Error).message });
    }
  };

  return (
    <div data-testid={testIds.appConfig.container} className={styles.wrap}>
      <FieldSet label="Loki">
        <Field label="Loki data source" description="Where the collector's events are stored.">
          <div data-testid={testIds.appConfig.datasource}>
            <DataSourcePicker
              type="loki"
              current={form.lokiUid || null}
              onChange={(ds) => setForm({ ...form, lokiUid: ds.uid })}
              noDefault
              width={40}
            />
          </div>
        </Field>
      </FieldSet>
      <FieldSet label="Casefile server">
        <Field
          label="Server URL"
          description="Reached by Grafana's server through the app's plugin routes, e.g. http://casefile-server:8480"
          invalid={Boolean(urlError)}
          error={urlError}
        >
          <Input
            width={60}
            value={form.serverUrl}
            onChange={(e) => setForm({ ...form, serverUrl: e.currentTarget.value.trim() })}
            data-testid={testIds.appConfig.serverUrl}
          />
        </Field>
        <Field
          label="API token"
          description="Stored encrypted (secureJsonData); Grafana adds it to the plugin route's requests, the browser never sees it."
        >
          <SecretInput
            width={60}
            isConfigured={form.tokenSet}
            value={form.token}
            onChange={(e) => setForm({ ...form, token: e.currentTarget.value })}
            onReset={() => setForm({ ...form, token: '', tokenSet: false })}
            data-testid={testIds.appConfig.token}
          />
        </Field>
        <Field
          label="Snapshot cap"
          description="Snapshots kept; the oldest unlocked one is evicted first (default 100)."
          invalid={Boolean(capError)}
          error={capError}
        >
          <Input
            width={20}
            type="number"
            min={1}
            value={form.snapshotCap}
            onChange={(e) => setForm({ ...form, snapshotCap: e.currentTarget.value })}
            data-testid={testIds.appConfig.snapshotCap}
          />
        </Field>
      </FieldSet>
      <Stack direction="row">
        <Button onClick={save} disabled={!valid} data-testid={testIds.appConfig.save}>
          Save settings
        </Button>
        <Button
          variant="secondary"
          onClick={test}
          disabled={!jsonData?.serverUrl}
          data-testid={testIds.appConfig.test}
        >
          Test server connection
        </Button>
      </Stack>
      {signingKey && (
        <FieldSet label="Package signing key">
          <Field
            label={signingKey.keyId}
            description="The Ed25519 key that signs forensic packages and custody entries: verify a package offline with `casefile verify package.zip --key key.pem`."
          >
            <pre className={styles.key}>{signingKey.publicKeyPem}</pre>
          </Field>
        </FieldSet>
      )}
      {status && (
        <div data-testid={testIds.appConfig.status} className={styles.status}>
          <Alert severity={status.ok ? 'success' : 'error'} title={status.ok ? 'OK' : 'Failed'}>
            {status.text}
          </Alert>
        </div>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrap: css({ maxWidth: 900 }),
  status: css({ marginTop: theme.spacing(2) }),
  key: css({ marginTop: theme.spacing(1), userSelect: 'all' }),
});
