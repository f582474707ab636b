# Ports and URLs of the test services (sourced by scripts and exported to pytest).
export TEST_MONGO_PORT=${TEST_MONGO_PORT:-37017}
export TEST_S3_PORT=${TEST_S3_PORT:-39000}
export MONGO_URL=${MONGO_URL:-mongodb://127.0.0.1:${TEST_MONGO_PORT}/?retryWrites=false&directConnection=true}
export S3_ENDPOINT=${S3_ENDPOINT:-127.0.0.1:${TEST_S3_PORT}}
export RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
