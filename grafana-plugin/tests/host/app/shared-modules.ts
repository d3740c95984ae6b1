/**
 * STAND-IN FOR GRAFANA'S PLUGIN LOADER (public/app/features/plugins/loader/
 * sharedDependencies.ts, utils.ts): the host's own module instances are registered with
 * SystemJS as `package:<name>` and mapped from the bare names a plugin's AMD bundle
 * asks for. lodash and moment are wrapped `{ ...module, __useDefault: true }` as in
 * Grafana; `react-router` is react-router-dom-v5-compat (v6), `react-router-dom` is v5.
 */
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as grafanaData from '@grafana/data';
import * as grafanaRuntime from '@grafana/runtime';
import * as grafanaUIraw from '@grafana/ui';
import * as lodash from 'lodash';
import * as moment from 'moment';
import * as react from 'react';
import * as reactDom from 'react-dom';
import * as reactDomClient from 'react-dom/client';
import * as jsxRuntime from 'react/jsx-runtime';
import * as reactRouterDomV5 from 'react-router-dom';
import * as reactRouterV6 from 'react-router-dom-v5-compat';
import * as rxjs from 'rxjs';
import * as rxjsOperators from 'rxjs/operators';
// @ts-expect-error resolved by the host bundler to @grafana/i18n's internal module (Grafana shares its instance)
import { getI18nInstance } from 'host:grafana-i18n-internal';

declare const System: {
  set(id: string, mod: unknown): void;
  addImportMap(map: { imports: Record<string, string> }): void;
  import(id: string): Promise<any>;
};

const grafanaUI: Record<string, unknown> = { ...grafanaUIraw };
grafanaUI.PanelPlugin = grafanaData.PanelPlugin;
grafanaUI.AppPlugin = grafanaData.AppPlugin;
grafanaUI.DataSourcePlugin = grafanaData.DataSourcePlugin;
grafanaUI.DataSourceApi = grafanaData.DataSourceApi;

/** Register every shared module; call once before importing a plugin. */
export function registerSharedModules(): void {
  const shared: Record<string, unknown> = {
    '@emotion/css': emotionCss,
    '@emotion/react': emotionReact,
    emotion: emotionCss,
    '@grafana/data': grafanaData,
    '@grafana/runtime': grafanaRuntime,
    '@grafana/ui': grafanaUI,
    i18next: getI18nInstance(),
    lodash: { ...lodash, __useDefault: true },
    moment: { ...moment, __useDefault: true },
    react,
    'react/jsx-runtime': jsxRuntime,
    'react-dom': reactDom,
    'react-dom/client': reactDomClient,
    'react-router-dom': reactRouterDomV5,
    'react-router': reactRouterV6,
    rxjs,
    'rxjs/operators': rxjsOperators,
  };
  const imports: Record<string, string> = {};
  for (const [name, mod] of Object.entries(shared)) {
    System.set(`package:${name}`, mod);
    imports[name] = `package:${name}`;
  }
  System.addImportMap({ imports });
}

/** Import a plugin module the way Grafana does (SystemJS, AMD). */
export function importPluginModule(path: string): Promise<any> {
  return System.import(`/${path.replace(/^\//, '')}`);
}
