-- Functions a flow may invoke (AssociateLambdaFunction); where each is reached is configured.
CREATE TABLE lambda_functions (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    function_arn TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (instance_id, function_arn)
);
