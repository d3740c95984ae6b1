import { DataFrameType, FieldType, createDataFrame, dataFrameFromJSON } from '@grafana/data';
import { EVENT_ID_LABEL, EVENT_TYPE_LABEL } from '@casefile/schema';
import { eventsFromFrames } from './frames';

describe('eventsFromFrames', () => {
  it("decodes the Loki data source's log frames into events sorted by time, counting foreign entries", () => {
    const frame = createDataFrame({
      fields: [
        {
          name: 'labels',
          type: FieldType.other,
          values: [
            {
              [EVENT_ID_LABEL]: 'b',
              [EVENT_TYPE_LABEL]: 'port.listen',
              server_port: '8080',
              container_name: 'web',
            },
            {
              [EVENT_ID_LABEL]: 'a',
              [EVENT_TYPE_LABEL]: 'process.start',
              process_pid: '7',
              process_executable_path: '/bin/sh',
            },
            { app: 'something-else' },
          ],
        },
        { name: 'Time', type: FieldType.time, values: [2, 1, 3] },
        { name: 'Line', type: FieldType.string, values: ['listen 8080', 'exec sh', 'hello'] },
        { name: 'tsNs', type: FieldType.string, values: ['2000001', '1000001', '3000000'] },
      ],
    });
    const { events, skipped } = eventsFromFrames([frame]);
    expect(skipped).toBe(1);
    expect(events).toEqual([
      {
        id: 'a',
        type: 'process.start',
        timeNs: '1000001',
        message: 'exec sh',
        pid: 7,
        executable: '/bin/sh',
      },
      {
        id: 'b',
        type: 'port.listen',
        timeNs: '2000001',
        message: 'listen 8080',
        listenPort: 8080,
        containerName: 'web',
      },
    ]);
  });
});

describe('eventsFromFrames keeps nanoseconds with every frame shape of the Loki data source', () => {
  const labels = [{ [EVENT_ID_LABEL]: 'a', [EVENT_TYPE_LABEL]: 'process.start' }];
  // 2026-12-01T08:00:00.123456789Z
  const ns = '1796112000123456789';
  const ms = 1796112000123;

  it('log-lines frames: tsNs', () => {
    const frame = dataFrameFromJSON({
      schema: {
        meta: { type: DataFrameType.LogLines },
        fields: [
          { name: 'labels', type: FieldType.other },
          { name: 'Time', type: FieldType.time },
          { name: 'Line', type: FieldType.string },
          { name: 'tsNs', type: FieldType.string },
        ],
      },
      data: { values: [labels, [ms], ['exec'], [ns]] },
    });
    expect(eventsFromFrames([frame]).events.map((e) => e.timeNs)).toEqual([ns]);
  });

  it('dataplane logs frames: timestamp with nanos, body', () => {
    const frame = dataFrameFromJSON({
      schema: {
        meta: { type: DataFrameType.LogLines, typeVersion: [0, 0] },
        fields: [
          { name: 'timestamp', type: FieldType.time },
          { name: 'body', type: FieldType.string },
          { name: 'severity', type: FieldType.string },
          { name: 'id', type: FieldType.string },
          { name: 'labels', type: FieldType.other },
        ],
      },
      data: { values: [[ms], ['exec'], ['info'], ['x'], labels], nanos: [[456789], null, null, null, null] },
    });
    expect(eventsFromFrames([frame]).events).toEqual([
      { id: 'a', type: 'process.start', timeNs: ns, message: 'exec' },
    ]);
  });

  it('frames with the labels on the line field and a time field only', () => {
    const frame = createDataFrame({
      fields: [
        { name: 'Time', type: FieldType.time, values: [ms], nanos: [456789] },
        { name: 'Line', type: FieldType.string, values: ['exec'], labels: labels[0] },
      ],
    });
    expect(eventsFromFrames([frame]).events.map((e) => e.timeNs)).toEqual([ns]);
  });
});
