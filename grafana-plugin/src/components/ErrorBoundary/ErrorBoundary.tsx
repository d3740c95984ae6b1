import React from 'react';
import { Alert } from '@grafana/ui';
import { testIds } from '@casefile/timeline-ui';

interface State {
  error?: Error;
}

/** Any render error becomes a sentence on the page, never a blank page. */
export class ErrorBoundary extends React.Component<React.PropsWithChildren, State> {
  state: State = {};

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  render() {
    if (this.state.error) {
      return (
        <Alert severity="error" title="Casefile hit an error" data-testid={testIds.view.error}>
          {this.state.error.message}
        </Alert>
      );
    }
    return this.props.children;
  }
}
