/**
 * STAND-IN FOR GRAFANA'S FRONTEND (public/app): reads window.grafanaBootData (set by
 * the host page before this bundle, so @grafana/runtime's config sees it), initialises
 * i18next, sets the runtime services, registers the shared modules with SystemJS, loads
 * the plugin's built module.js, runs plugin.init(meta), and renders one of:
 *   /a/<id>/...              the app's root page (AppRootPage: PluginContextProvider,
 *                            props meta/basename/query/path/onNavChanged) under
 *                            Route "/a/:pluginId/*" in a router on locationService's history
 *   /plugins/<id>?page=<id>  a config page body (plugin.configPages)
 *   /host/panel?panel=<id>&expr=...&from=&to=   a nested panel plugin fed by the Loki
 *                            data source, as a dashboard's query runner would
 */
import React, { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Router as V5Router } from 'react-router-dom';
import { CompatRouter, Routes, Route } from 'react-router-dom-v5-compat';
import {
  AppEvents,
  LoadingState,
  PluginContextProvider,
  ThemeContext,
  dateMath,
  setTimeZoneResolver,
  type AppPlugin,
  type AppPluginMeta,
  type DataSourceInstanceSettings,
  type NavModel,
  type PanelData,
  type PanelPlugin,
  type TimeRange,
} from '@grafana/data';
import {
  config,
  locationService,
  setAppEvents,
  setBackendSrv,
  setDataSourceSrv,
  setEchoSrv,
  setLocationSrv,
  setPluginComponentHook,
  setPluginComponentsHook,
  setPluginLinksHook,
  setTemplateSrv,
} from '@grafana/runtime';
import { GlobalStyles } from '@grafana/ui';
// @ts-expect-error resolved by the host bundler to @grafana/i18n's internal module
import { initializeI18n } from 'host:grafana-i18n-internal';
import { HostBackendSrv, HostDataSourceSrv, appEvents, asBackendSrv, asDataSourceSrv } from './services';
import { importPluginModule, registerSharedModules } from './shared-modules';

// react-router 5's types predate React 18's explicit children.
const Router = V5Router as unknown as React.ComponentType<
  React.PropsWithChildren<{ history: ReturnType<typeof locationService.getHistory> }>
>;

const boot = (window as any).grafanaBootData;
const hostInfo: { pluginId: string; lokiDataSource: DataSourceInstanceSettings; nestedPanels: string[] } =
  boot.host;

const backendSrv = new HostBackendSrv();
const dataSourceSrv = new HostDataSourceSrv(hostInfo.lokiDataSource);
setBackendSrv(asBackendSrv(backendSrv));
setDataSourceSrv(asDataSourceSrv(dataSourceSrv));
setLocationSrv(locationService);
setAppEvents(appEvents as any);
setEchoSrv({ addBackend() {}, addEvent() {}, logDebug() {}, isEnabled: () => false } as any);
setTemplateSrv({
  getVariables: () => [],
  replace: (s?: string) => s ?? '',
  containsTemplate: () => false,
  updateTimeRange() {},
} as any);
setPluginLinksHook(() => ({ links: [], isLoading: false }));
setPluginComponentsHook(() => ({ components: [], isLoading: false }));
setPluginComponentHook(() => ({ component: null, isLoading: false }));

/** Grafana shows app events as toasts; the host lists them so tests can read them. */
function Toasts() {
  const [items, setItems] = useState<{ kind: string; text: string }[]>([]);
  useEffect(() => {
    // Grafana's alert events carry [title, text?]; anything else is shown as it came.
    const add = (kind: string) => (payload: unknown) =>
      setItems((xs) => [
        ...xs,
        {
          kind,
          text: (Array.isArray(payload) ? payload : [payload])
            .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
            .join(': '),
        },
      ]);
    const subs = [
      appEvents.on(AppEvents.alertError, add('error')),
      appEvents.on(AppEvents.alertSuccess, add('success')),
      appEvents.on(AppEvents.alertWarning, add('warning')),
    ];
    return () => subs.forEach((off: any) => off?.unsubscribe?.());
  }, []);
  return (
    <div style={{ position: 'fixed', right: 8, top: 8, zIndex: 9999 }}>
      {items.map((t, i) => (
        <div
          key={i}
          data-testid={`host-toast-${t.kind}`}
          style={{ background: '#222', padding: 6, margin: 4 }}
        >
          {t.text}
        </div>
      ))}
    </div>
  );
}

function useLocation() {
  const [loc, setLoc] = useState(locationService.getLocation());
  useEffect(() => locationService.getHistory().listen((l: any) => setLoc(l)), []);
  return loc;
}

async function loadApp(): Promise<{ plugin: AppPlugin; meta: AppPluginMeta }> {
  const meta = (await backendSrv.get(`api/plugins/${hostInfo.pluginId}/settings`)) as AppPluginMeta;
  const mod = await importPluginModule(meta.module);
  const plugin = mod.plugin as AppPlugin;
  plugin.init(meta);
  plugin.meta = meta;
  return { plugin, meta };
}

function AppRootPage({ plugin, meta }: { plugin: AppPlugin; meta: AppPluginMeta }) {
  const loc = useLocation();
  const [nav, setNav] = useState<NavModel | undefined>();
  const query = useMemo(() => Object.fromEntries(new URLSearchParams(loc.search)), [loc.search]);
  const Root = plugin.root!;
  return (
    <div data-testid="host-app-root">
      {nav && <h1 data-testid="host-nav-title">{nav.main?.text}</h1>}
      <PluginContextProvider meta={meta}>
        <Root
          meta={meta}
          basename={`/a/${meta.id}`}
          query={query as any}
          path={loc.pathname}
          onNavChanged={setNav}
        />
      </PluginContextProvider>
    </div>
  );
}

function ConfigPage({ plugin, meta }: { plugin: AppPlugin; meta: AppPluginMeta }) {
  const loc = useLocation();
  const q = new URLSearchParams(loc.search);
  const pages = plugin.configPages ?? [];
  const page = pages.find((p) => p.id === q.get('page')) ?? pages[0];
  if (!page) return <div data-testid="host-error">plugin has no config pages</div>;
  const Body = page.body;
  return (
    <div data-testid="host-config-page">
      <h1>{page.title}</h1>
      <PluginContextProvider meta={meta}>
        <Body plugin={plugin} query={Object.fromEntries(q) as any} />
      </PluginContextProvider>
    </div>
  );
}

function timeRangeFrom(q: URLSearchParams): TimeRange {
  const rawFrom = q.get('from') ?? 'now-1h';
  const rawTo = q.get('to') ?? 'now';
  const parse = (s: string, up: boolean) =>
    /^\d+$/.test(s) ? dateMath.toDateTime(new Date(Number(s)), {})! : dateMath.parse(s, up)!;
  return { from: parse(rawFrom, false), to: parse(rawTo, true), raw: { from: rawFrom, to: rawTo } };
}

/** A dashboard panel: runs the panel's Loki target and renders the panel with its result. */
function PanelHost() {
  const q = new URLSearchParams(locationService.getLocation().search);
  const [state, setState] = useState<{ plugin?: PanelPlugin; data?: PanelData; error?: string }>({});
  const width = 1200;
  const height = 600;
  useEffect(() => {
    (async () => {
      // The host's boot data, like Grafana 13.2's, has no settings.panels: this dashboard
      // stand-in takes the panel's meta from Grafana's plugin settings API, which answers for
      // panels too (and 404s for a plugin Grafana did not load, e.g. an unsigned one not allowed).
      const panelId = q.get('panel') ?? hostInfo.nestedPanels[0];
      const meta = await backendSrv.get(`api/plugins/${panelId}/settings`, undefined, undefined, {
        showErrorAlert: false,
      });
      const plugin = (await importPluginModule(meta.module)).plugin as PanelPlugin;
      plugin.meta = { ...plugin.meta, ...meta };
      const range = timeRangeFrom(q);
      const ds = await dataSourceSrv.get(hostInfo.lokiDataSource.uid);
      const intervalMs = Math.max(1000, Math.round((range.to.valueOf() - range.from.valueOf()) / width));
      const res: any = await new Promise((resolve, reject) =>
        ds
          .query({
            requestId: 'panel-1',
            app: 'dashboard',
            interval: `${intervalMs}ms`,
            intervalMs,
            maxDataPoints: width,
            range,
            scopedVars: {},
            timezone: 'utc',
            startTime: Date.now(),
            targets: [
              {
                refId: 'A',
                datasource: { type: 'loki', uid: hostInfo.lokiDataSource.uid },
                expr: q.get('expr') ?? '',
                queryType: 'range',
                maxLines: Number(q.get('maxLines') ?? 1000),
              } as any,
            ],
          } as any)
          .subscribe({ next: resolve, error: reject })
      );
      const data: PanelData = {
        state: LoadingState.Done,
        series: res.data,
        timeRange: range,
        errors: res.errors,
      };
      setState({ plugin, data });
    })().catch((e) => setState({ error: String(e?.message ?? e?.data?.message ?? e) }));
  }, []);
  if (state.error) return <div data-testid="host-error">{state.error}</div>;
  if (!state.plugin || !state.data) return <div data-testid="host-loading">Loading panel…</div>;
  const Panel = state.plugin.panel!;
  const options = { ...((state.plugin as any).defaults ?? {}), ...JSON.parse(q.get('options') ?? '{}') };
  return (
    <div data-testid="host-panel" style={{ width, height, border: '1px solid #333', margin: 16 }}>
      <div>{q.get('title') ?? 'Forensic timeline'}</div>
      <Panel
        id={1}
        data={state.data}
        timeRange={state.data.timeRange}
        timeZone="utc"
        options={options}
        fieldConfig={{ defaults: {}, overrides: [] }}
        onOptionsChange={() => {}}
        onFieldConfigChange={() => {}}
        onChangeTimeRange={() => {}}
        replaceVariables={(s: string) => s}
        width={width}
        height={height - 24}
        title={q.get('title') ?? ''}
        transparent={false}
        renderCounter={0}
        eventBus={appEvents as any}
      />
    </div>
  );
}

function PluginPages() {
  const [app, setApp] = useState<{ plugin: AppPlugin; meta: AppPluginMeta }>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    loadApp().then(setApp, (e) => setError(String(e?.stack ?? e?.message ?? e)));
  }, []);
  if (error) return <pre data-testid="host-error">{error}</pre>;
  if (!app) return <div data-testid="host-loading">Loading plugin…</div>;
  return (
    <Routes>
      <Route path="/a/:pluginId/*" element={<AppRootPage {...app} />} />
      <Route path="/plugins/:pluginId" element={<ConfigPage {...app} />} />
    </Routes>
  );
}

/** Grafana's home page stand-in: nothing of the plugin loaded yet (the benchmark navigates from here). */
function HomePage() {
  return <div data-testid="host-home">Home</div>;
}

function Host() {
  return (
    <ThemeContext.Provider value={config.theme2}>
      <GlobalStyles />
      <Toasts />
      <Router history={locationService.getHistory()}>
        <CompatRouter>
          <Routes>
            <Route path="/host/panel" element={<PanelHost />} />
            <Route path="/host/home" element={<HomePage />} />
            <Route path="*" element={<PluginPages />} />
          </Routes>
        </CompatRouter>
      </Router>
    </ThemeContext.Provider>
  );
}

async function main() {
  // In-app navigation, as a click in Grafana's nav would do (used by the benchmark).
  (window as any).__hostNavigate = (url: string) => locationService.push(url);
  await initializeI18n({ language: 'en-US', ns: ['grafana'] });
  // As Grafana's app.ts does: @grafana/data's getTimeZone() answers the user's preference.
  setTimeZoneResolver(() => config.bootData.user.timezone);
  registerSharedModules();
  createRoot(document.getElementById('root')!).render(<Host />);
}

// Called by the host page once SystemJS has loaded (after this bundle).
(window as any).__casefileHostStart = () =>
  main().catch((e) => {
    const pre = document.createElement('pre');
    pre.dataset.testid = 'host-error';
    pre.textContent = String(e?.stack ?? e);
    document.getElementById('root')!.replaceChildren(pre);
  });
