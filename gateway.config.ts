// The default configuration: `npm start` serves it. Edit it while the gateway runs: it reloads on save.
import { defineConfig } from 'portcullis';

export default defineConfig({
  binds: [
    {
      port: 3000,
      listeners: [
        {
          routes: [
            {
              name: 'welcome',
              matches: [{ path: { exact: '/' } }],
              policies: {
                directResponse: {
                  status: 200,
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ portcullis: 'running', docs: 'see README.md to add routes and backends' }),
                },
              },
            },
          ],
        },
      ],
    },
  ],
});
