// The blogql playground: GraphiQL against this server's /graphql (subscriptions over its
// WebSocket), with the docs explorer, the variables and headers editors, and a first query to
// run. `?query=` (and `?variables=`) in the page's URL prefill the editors, so a link can
// carry a query.
(function () {
  'use strict';

  var DEFAULT_QUERY = [
    '# Users with their first posts and each post\'s author:',
    '# four SQL statements, however many rows.',
    '{',
    '  users(first: 10) {',
    '    totalCount',
    '    pageInfo { hasNextPage endCursor }',
    '    nodes {',
    '      name',
    '      postCount',
    '      posts(first: 5) {',
    '        nodes { title author { name } }',
    '      }',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');

  var params = new URLSearchParams(window.location.search);
  var endpoint = new URL('/graphql', window.location.href);
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';
  // Subscriptions go over the WebSocket (graphql-transport-ws); the headers editor's headers
  // travel as its connection_init payload, so a bearer token there works for both.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
  });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      query: params.get('query') || undefined,
      variables: params.get('variables') || undefined,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
    })
  );
})();
