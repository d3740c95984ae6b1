import { createContext, useContext } from 'react';

/** The app's jsonData (Configuration page). The server token lives in secureJsonData.serverToken and never reaches the browser. */
export interface AppSettings {
  /** uid of the Loki data source holding Casefile's events. */
  lokiUid?: string;
  /** Base URL of the Casefile server, used by the plugin routes (server side). */
  serverUrl?: string;
  /** Snapshots the server keeps (default 100); sent with every pin as X-Casefile-Max-Snapshots. */
  snapshotCap?: number;
}

export interface AppSecureSettings {
  serverToken?: string;
}

export const DEFAULT_SNAPSHOT_CAP = 100;

export const SettingsContext = createContext<AppSettings>({});

/** The app's settings, provided by the App root from its plugin meta. */
export function useSettings(): AppSettings {
  return useContext(SettingsContext);
}
