// The blogql playground: GraphiQL against this server's /graphql, with the docs explorer,
// the variables and headers editors, and a first query to run. `?query=` (and `?variables=`)
// in the page's URL prefill the editors, so a link can carry a query.
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
  var fetcher = GraphiQL.createFetcher({
    url: new URL('/graphql', window.location.href).href,
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
