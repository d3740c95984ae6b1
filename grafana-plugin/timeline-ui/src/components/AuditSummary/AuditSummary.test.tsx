import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { ev } from '../../model/testEvents';
import { testIds } from '../../testIds';
import { AuditSummary, firstWorstAudit } from './AuditSummary';

const audit = (ms: number, severity: string, id: string) =>
  ev('runtime.audit', ms, { id, severity } as never);

describe('AuditSummary', () => {
  const audits = [
    audit(1000, 'medium', 'm1'),
    audit(2000, 'high', 'h1'),
    audit(3000, 'critical', 'c1'),
    audit(4000, 'critical', 'c2'),
    audit(5000, 'medium', 'm2'),
  ];

  it('counts the audits by severity, worst first, and opens the first of the worst', () => {
    const onOpen = jest.fn();
    render(<AuditSummary total={5} audits={audits} onOpen={onOpen} />);
    const line = screen.getByTestId(testIds.view.auditSummary);
    expect(line).toHaveTextContent('5 runtime audits');
    const parts = [...line.querySelectorAll('[data-severity]')].map((s) => s.textContent);
    expect(parts).toEqual(['2 critical', '1 high', '2 medium']);
    fireEvent.click(screen.getByTestId(testIds.view.auditSummaryOpen));
    expect(onOpen).toHaveBeenCalledWith(audits[2]);
  });

  it('says how many are loaded when Loki counts more than the grid holds, and nothing without audits', () => {
    const { rerender } = render(<AuditSummary total={40} audits={audits} onOpen={() => {}} />);
    expect(screen.getByTestId(testIds.view.auditSummary)).toHaveTextContent('40 runtime audits');
    expect(screen.getByTestId(testIds.view.auditSummary)).toHaveTextContent('(5 loaded)');
    rerender(<AuditSummary total={0} audits={[]} onOpen={() => {}} />);
    expect(screen.queryByTestId(testIds.view.auditSummary)).toBeNull();
  });

  it('falls back to the first audit when no severity is one it knows', () => {
    const plain = [{ ...audits[0], id: 'p', severity: 'informational' }];
    expect(firstWorstAudit(plain)?.id).toBe('p');
    expect(firstWorstAudit([])).toBeUndefined();
  });
});
