import { FieldType, createDataFrame } from '@grafana/data';
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
