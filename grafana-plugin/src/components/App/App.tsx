import React, { Suspense, lazy } from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import type { AppRootProps } from '@grafana/data';
import { LoadingPlaceholder } from '@grafana/ui';
import { ROUTES } from '../../constants';
import { SettingsContext, type AppSettings } from '../../settings';
import { ErrorBoundary } from '../ErrorBoundary/ErrorBoundary';

const Timeline = lazy(() => import('../../pages/Timeline/Timeline').then((m) => ({ default: m.Timeline })));
const Models = lazy(() => import('../../pages/Models/Models').then((m) => ({ default: m.Models })));
const Snapshots = lazy(() =>
  import('../../pages/Snapshots/Snapshots').then((m) => ({ default: m.Snapshots }))
);
const SnapshotDetail = lazy(() =>
  import('../../pages/SnapshotDetail/SnapshotDetail').then((m) => ({ default: m.SnapshotDetail }))
);

/** The app root: settings from the plugin meta, pages loaded lazily, routes relative to /a/<plugin id>/. */
export function App(props: AppRootProps<AppSettings>) {
  return (
    <SettingsContext.Provider value={props.meta.jsonData ?? {}}>
      <ErrorBoundary>
        <Suspense fallback={<LoadingPlaceholder text="Loading…" />}>
          <Routes>
            <Route path={ROUTES.Timeline} element={<Timeline />} />
            <Route path={ROUTES.Models} element={<Models />} />
            <Route path={ROUTES.Snapshots} element={<Snapshots />} />
            <Route path={`${ROUTES.Snapshots}/:id`} element={<SnapshotDetail />} />
            <Route path="*" element={<Navigate to={ROUTES.Timeline} replace />} />
          </Routes>
        </Suspense>
      </ErrorBoundary>
    </SettingsContext.Provider>
  );
}
