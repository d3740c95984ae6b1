import './publicPath';
import React, { Suspense, lazy } from 'react';
import { AppPlugin } from '@grafana/data';
import { LoadingPlaceholder } from '@grafana/ui';
import { App } from './components/App/App';
import type { AppConfigProps } from './components/AppConfig/AppConfig';
import type { AppSettings } from './settings';

// Only wiring here. The root (routes, settings) is small and loads with the module, so opening a page
// costs one chunk, not two; the pages and the config page load lazily.
const LazyAppConfig = lazy(() =>
  import('./components/AppConfig/AppConfig').then((m) => ({ default: m.AppConfig }))
);

const AppConfig = (props: AppConfigProps) => (
  <Suspense fallback={<LoadingPlaceholder text="" />}>
    <LazyAppConfig {...props} />
  </Suspense>
);

export const plugin = new AppPlugin<AppSettings>().setRootPage(App).addConfigPage({
  title: 'Configuration',
  icon: 'cog',
  body: AppConfig,
  id: 'configuration',
});
