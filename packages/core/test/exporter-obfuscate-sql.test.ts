import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NON_PARSABLE_SQL, SqlObfuscator, obfuscateSql } from '../src/wire/obfuscate-sql.js'

// Input and expected output pairs from the Datadog Agent's own tests (pkg/obfuscate/sql_test.go,
// TestSQLQuantizer and neighbours, default configuration).
const AGENT_CASES: ReadonlyArray<readonly [string, string]> = [
  ['select * from users where id = 42', 'select * from users where id = ?'],
  ['select * from users where float = .43422', 'select * from users where float = ?'],
  ['SELECT host, status FROM ec2_status WHERE org_id = 42', 'SELECT host, status FROM ec2_status WHERE org_id = ?'],
  ['SELECT host, status FROM ec2_status WHERE org_id=42', 'SELECT host, status FROM ec2_status WHERE org_id = ?'],
  ['-- get user \n--\n select * \n   from users \n    where\n       id = 214325346', 'select * from users where id = ?'],
  ['SELECT * FROM `host` WHERE `id` IN (42, 43) /*comment with parameters,host:localhost,url:controller#home,id:FF005:00CAA*/', 'SELECT * FROM host WHERE id IN ( ? )'],
  ['SELECT `host`.`address` FROM `host` WHERE org_id=42', 'SELECT host . address FROM host WHERE org_id = ?'],
  ['SELECT "host"."address" FROM "host" WHERE org_id=42', 'SELECT host . address FROM host WHERE org_id = ?'],
  [
    "UPDATE user_dash_pref SET json_prefs = %(json_prefs)s, modified = '2015-08-27 22:10:32.492912' WHERE user_id = %(user_id)s AND url = %(url)s",
    'UPDATE user_dash_pref SET json_prefs = ? modified = ? WHERE user_id = ? AND url = ?'
  ],
  [
    'SELECT DISTINCT host.id AS host_id FROM host JOIN host_alias ON host_alias.host_id = host.id WHERE host.org_id = %(org_id_1)s AND host.name NOT IN (%(name_1)s) AND host.name IN (%(name_2)s, %(name_3)s, %(name_4)s, %(name_5)s)',
    'SELECT DISTINCT host.id FROM host JOIN host_alias ON host_alias.host_id = host.id WHERE host.org_id = ? AND host.name NOT IN ( ? ) AND host.name IN ( ? )'
  ],
  [
    'SELECT org_id, metric_key   FROM metrics_metadata   WHERE org_id = %(org_id)s AND metric_key = ANY(array[21, 25, 32])',
    'SELECT org_id, metric_key FROM metrics_metadata WHERE org_id = ? AND metric_key = ANY ( array [ ? ] )'
  ],
  ['SELECT articles.* FROM articles WHERE articles.id = 1 LIMIT 1, 20', 'SELECT articles.* FROM articles WHERE articles.id = ? LIMIT ?'],
  ['SELECT articles.* FROM articles WHERE articles.id = 1 LIMIT 15,20;', 'SELECT articles.* FROM articles WHERE articles.id = ? LIMIT ?'],
  [
    "SELECT articles.* FROM articles WHERE (articles.created_at BETWEEN '2016-10-31 23:00:00.000000' AND '2016-11-01 23:00:00.000000')",
    'SELECT articles.* FROM articles WHERE ( articles.created_at BETWEEN ? AND ? )'
  ],
  ['SELECT articles.* FROM articles WHERE (articles.created_at BETWEEN $1 AND $2)', 'SELECT articles.* FROM articles WHERE ( articles.created_at BETWEEN ? AND ? )'],
  ['SELECT articles.* FROM articles WHERE (articles.published != true)', 'SELECT articles.* FROM articles WHERE ( articles.published != ? )'],
  ['SELECT articles.* FROM articles WHERE ( title = ? ) AND ( author = ? )', 'SELECT articles.* FROM articles WHERE ( title = ? ) AND ( author = ? )'],
  ['SELECT articles.* FROM articles WHERE ( title = :title )', 'SELECT articles.* FROM articles WHERE ( title = :title )'],
  ['SELECT articles.* FROM articles WHERE ( title = @title )', 'SELECT articles.* FROM articles WHERE ( title = @title )'],
  [
    'SELECT date(created_at) as ordered_date, sum(price) as total_price FROM orders GROUP BY date(created_at) HAVING sum(price) > 100',
    'SELECT date ( created_at ), sum ( price ) FROM orders GROUP BY date ( created_at ) HAVING sum ( price ) > ?'
  ],
  ['SELECT articles.* FROM articles WHERE articles.id IN (1, 3, 5)', 'SELECT articles.* FROM articles WHERE articles.id IN ( ? )'],
  [
    "SELECT * FROM clients WHERE (clients.first_name = 'Andy') LIMIT 15, 25 BEGIN INSERT INTO clients (created_at, first_name, locked, orders_count, updated_at) VALUES ('2011-08-30 05:22:57', 'Andy', 1, NULL, '2011-08-30 05:22:57') COMMIT",
    'SELECT * FROM clients WHERE ( clients.first_name = ? ) LIMIT ? BEGIN INSERT INTO clients ( created_at, first_name, locked, orders_count, updated_at ) VALUES ( ? ) COMMIT'
  ],
  ['SAVEPOINT "s139956586256192_x1"', 'SAVEPOINT ?'],
  ["INSERT INTO user (id, username) VALUES ('Fred','Smith'), ('John','Smith'), ('Michael','Smith'), ('Robert','Smith');", 'INSERT INTO user ( id, username ) VALUES ( ? )'],
  ["CREATE KEYSPACE Excelsior WITH replication = {'class': 'SimpleStrategy', 'replication_factor' : 3};", 'CREATE KEYSPACE Excelsior WITH replication = ?'],
  [
    'SELECT "webcore_page"."id" FROM "webcore_page" WHERE "webcore_page"."slug" = %s ORDER BY "webcore_page"."path" ASC LIMIT 1',
    'SELECT webcore_page . id FROM webcore_page WHERE webcore_page . slug = ? ORDER BY webcore_page . path ASC LIMIT ?'
  ],
  ['SELECT server_table.host AS host_id FROM table#.host_tags as server_table WHERE server_table.host_id = 50', 'SELECT server_table.host FROM table#.host_tags WHERE server_table.host_id = ?'],
  ['SELECT name, pretty_print(address) FROM people;', 'SELECT name, pretty_print ( address ) FROM people'],
  ['* SELECT * FROM fake_data(1, 2, 3);', '* SELECT * FROM fake_data ( ? )'],
  [
    "CREATE FUNCTION add(integer, integer) RETURNS integer\n AS 'select $1 + $2;'\n LANGUAGE SQL\n IMMUTABLE\n RETURNS NULL ON NULL INPUT;",
    'CREATE FUNCTION add ( integer, integer ) RETURNS integer LANGUAGE SQL IMMUTABLE RETURNS ? ON ? INPUT'
  ],
  ["SELECT * FROM public.table ( array [ ROW ( array [ 'magic', 'foo',", 'SELECT * FROM public.table ( array [ ROW ( array [ ?'],
  ['SELECT pg_try_advisory_lock (123) AS t46eef3f025cc27feb31ca5a2d668a09a', 'SELECT pg_try_advisory_lock ( ? )'],
  ['INSERT INTO `qual-aa`.issues (alert0 , alert1) VALUES (NULL, NULL)', 'INSERT INTO qual-aa . issues ( alert0, alert1 ) VALUES ( ? )'],
  ['INSERT INTO user (id, email, name) VALUES (null, ?, ?)', 'INSERT INTO user ( id, email, name ) VALUES ( ? )'],
  ['select * from users where id = 214325346     # This comment continues to the end of line', 'select * from users where id = ?'],
  ['select * from users where id = 214325346     -- This comment continues to the end of line', 'select * from users where id = ?'],
  ['SELECT * FROM /* this is an in-line comment */ users;', 'SELECT * FROM users'],
  ['SELECT /*! STRAIGHT_JOIN */ col1 FROM table1', 'SELECT col1 FROM table1'],
  [
    'DELETE FROM t1\n\t\t\tWHERE s11 > ANY\n\t\t\t(SELECT COUNT(*) /* no hint */ FROM t2\n\t\t\tWHERE NOT EXISTS\n\t\t\t(SELECT * FROM t3\n\t\t\tWHERE ROW(5*t2.s1,77)=\n\t\t\t(SELECT 50,11*s1 FROM t4 UNION SELECT 50,77 FROM\n\t\t\t(SELECT * FROM t5) AS t5)));',
    'DELETE FROM t1 WHERE s11 > ANY ( SELECT COUNT ( * ) FROM t2 WHERE NOT EXISTS ( SELECT * FROM t3 WHERE ROW ( ? * t2.s1, ? ) = ( SELECT ? * s1 FROM t4 UNION SELECT ? FROM ( SELECT * FROM t5 ) ) ) )'
  ],
  ["SET @g = 'POLYGON((0 0,10 0,10 10,0 10,0 0),(5 5,7 5,7 7,5 7, 5 5))';", 'SET @g = ?'],
  ['SELECT [b].[BlogId], [b].[Name]\nFROM [Blogs] AS [b]\nORDER BY [b].[Name]', 'SELECT [ b ] . [ BlogId ], [ b ] . [ Name ] FROM [ Blogs ] ORDER BY [ b ] . [ Name ]'],
  ["SELECT * FROM users WHERE firstname=''", 'SELECT * FROM users WHERE firstname = ?'],
  ['SELECT * FROM users WHERE lastname=" "', 'SELECT * FROM users WHERE lastname = ?'],
  ["SELECT * FROM foo LEFT JOIN bar ON 'backslash\\' = foo.b WHERE foo.name = 'String'", 'SELECT * FROM foo LEFT JOIN bar ON ? = foo.b WHERE foo.name = ?'],
  ["SELECT * FROM foo LEFT JOIN bar ON 'embedded ''quote'' in string' = foo.b WHERE foo.name = 'String'", 'SELECT * FROM foo LEFT JOIN bar ON ? = foo.b WHERE foo.name = ?'],
  ["SELECT * FROM foo LEFT JOIN bar ON 'embedded \\'quote\\' in string' = foo.b WHERE foo.name = 'String'", 'SELECT * FROM foo LEFT JOIN bar ON ? = foo.b WHERE foo.name = ?'],
  [
    'SELECT org_id,metric_key,metric_type,interval FROM metrics_metadata WHERE org_id = ? AND metric_key = ANY(ARRAY[?,?,?,?,?])',
    'SELECT org_id, metric_key, metric_type, interval FROM metrics_metadata WHERE org_id = ? AND metric_key = ANY ( ARRAY [ ? ] )'
  ],
  ["SELECT a :: VARCHAR(255) FROM foo WHERE foo.name = 'String'", 'SELECT a :: VARCHAR ( ? ) FROM foo WHERE foo.name = ?'],
  ['{call px_cu_se_security_pg.sps_get_my_accounts_count(?, ?, ?, ?)}', '{ call px_cu_se_security_pg.sps_get_my_accounts_count ( ? ) }'],
  ["{call px_cu_se_security_pg.sps_get_my_accounts_count(1, 2, 'one', 'two')};", '{ call px_cu_se_security_pg.sps_get_my_accounts_count ( ? ) }'],
  ["{call curly_fun('{{', '}}', '}', '}')};", '{ call curly_fun ( ? ) }'],
  ["SELECT id, name FROM emp WHERE name LIKE {fn UCASE('Smith')}", 'SELECT id, name FROM emp WHERE name LIKE ?'],
  ["select users.custom #- '{a,b}' from users", 'select users.custom'],
  ['SELECT a FROM foo WHERE value<@name', 'SELECT a FROM foo WHERE value < @name'],
  ['SELECT @@foo', 'SELECT @@foo'],
  ['SELECT username AS person FROM users WHERE id=4', 'SELECT username FROM users WHERE id = ?'],
  ['autovacuum: VACUUM fake.big_table (to prevent wraparound)', 'autovacuum : VACUUM fake.big_table ( to prevent wraparound )'],
  ["SELECT $func$INSERT INTO table VALUES ('a', 1, 2)$func$ FROM users", 'SELECT ? FROM users'],
  ['select * from test where !is_good;', 'select * from test where ! is_good'],
  ['select * from test where !45;', 'select * from test where ! ?'],
  ['select !- 2', 'select ! - ?'],
  ['select count(*) as `count(*)` from test', 'select count ( * ) from test'],
  ['SELECT age as `age}` FROM profile', 'SELECT age FROM profile'],
  ['SELECT * from users where user_id =:0_USER', 'SELECT * from users where user_id = :0_USER'],
  ['SELECT name FROM people WHERE person_id = -1', 'SELECT name FROM people WHERE person_id = ?'],
  [
    "SELECT * FROM clients WHERE (clients.first_name = 'Andy') LIMIT 1 BEGIN INSERT INTO owners (created_at, first_name, locked, orders_count, updated_at) VALUES ('2011-08-30 05:22:57', 'Andy', 1, NULL, '2011-08-30 05:22:57') COMMIT",
    'SELECT * FROM clients WHERE ( clients.first_name = ? ) LIMIT ? BEGIN INSERT INTO owners ( created_at, first_name, locked, orders_count, updated_at ) VALUES ( ? ) COMMIT'
  ],
  ["SELECT * FROM (VALUES (1, 'dog')) AS d (id, animal)", 'SELECT * FROM ( VALUES ( ? ) ) ( id, animal )'],
  ['CREATE TRIGGER dogwatcher SELECT ON w1 BEFORE (UPDATE d1 SET (c1, c2, c3) = (c1 + 1, c2 + 1, c3 + 1))', 'CREATE TRIGGER dogwatcher SELECT ON w1 BEFORE ( UPDATE d1 SET ( c1, c2, c3 ) = ( c1 + ? c2 + ? c3 + ? ) )'],
  ['SELECT Codi , Nom_CA AS Nom, Descripció_CAT AS Descripció FROM ProtValAptitud WHERE Vigent=1 ORDER BY Ordre, Codi', 'SELECT Codi, Nom_CA, Descripció_CAT FROM ProtValAptitud WHERE Vigent = ? ORDER BY Ordre, Codi'],
  [
    "update Attendees set email = '626837270@qq.com', first_name = \"贺新春送猪福加企鹅1054948000领98綵斤\", last_name = '王子198442com体验猪多优惠', journal_activity_id = 4246684839261125564, changed = \"2019-05-24 00:26:22\" where id = 123",
    'update Attendees set email = ? first_name = ? last_name = ? journal_activity_id = ? changed = ? where id = ?'
  ]
]

test('the agent\'s own SQL cases come out as the agent writes them', () => {
  const failures: string[] = []
  for (const [input, expected] of AGENT_CASES) {
    const actual = obfuscateSql(input)
    if (actual !== expected) failures.push(`${JSON.stringify(input)}\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`)
  }
  assert.equal(failures.length, 0, failures.join('\n'))
})

test('obfuscating twice changes nothing, so the agent finds nothing left to do', () => {
  // Except where the agent's own output is not stable: a backquoted name with '-' comes out unquoted,
  // and a second pass splits it at the '-' (the agent would do the same to its own output).
  const unstable = (s: string): boolean => s.includes('qual-aa')
  for (const [, expected] of AGENT_CASES) if (!unstable(expected)) assert.equal(obfuscateSql(expected), expected, expected)
  assert.equal(obfuscateSql('INSERT INTO qual-aa . issues'), 'INSERT INTO qual - aa . issues')
})

test('what the agent cannot tokenize becomes "Non-parsable SQL query"', () => {
  for (const bad of ["SELECT * FROM users WHERE name = 'unterminated", 'SELECT /* never closed', 'SELECT 09 FROM t', '}', 'SELECT a FROM b WHERE c = %(x) 1', '', '   ', '-- only a comment']) {
    assert.equal(obfuscateSql(bad), NON_PARSABLE_SQL, JSON.stringify(bad))
  }
})

test('the cached obfuscator answers the same and stays bounded', () => {
  const sql = new SqlObfuscator(3)
  for (let i = 0; i < 10; i++) assert.equal(sql.obfuscate(`SELECT * FROM t${i} WHERE id = ${i}`), `SELECT * FROM t${i} WHERE id = ?`)
  assert.equal(sql.obfuscate('SELECT 1'), 'SELECT ?')
  assert.equal(sql.obfuscate('SELECT 1'), 'SELECT ?')
})
