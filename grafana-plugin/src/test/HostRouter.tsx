import React, { useEffect, useState } from 'react';
import { Router } from 'react-router-dom';
import { locationService } from '@grafana/runtime';

/** A router on Grafana's locationService history, as Grafana renders app pages. */
export function HostRouter({ children }: React.PropsWithChildren) {
  const history = locationService.getHistory();
  const [location, setLocation] = useState(history.location);
  useEffect(() => history.listen((l: typeof history.location) => setLocation(l)), [history]);
  return (
    <Router location={location} navigator={history as never}>
      {children}
    </Router>
  );
}
