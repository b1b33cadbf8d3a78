package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/batchledger/batchledger/models"
)

// Store is the content-addressed payload store. It is an interface so that
// retention features Azurite lacks (immutability policies, legal hold) can be
// added by another implementation without touching callers.
type Store interface {
	Put(ctx context.Context, data []byte) (models.Ref, error)
	Get(ctx context.Context, ref models.Ref) ([]byte, error)
	GetRange(ctx context.Context, r models.Range) ([]byte, error)
	ReadNamed(ctx context.Context, name string) ([]byte, error)
}

// ErrIntegrity means audit data did not match its recorded hash. Our own
// audit data is trusted, so this is a crash-worthy anomaly, never a guess.
var ErrIntegrity = errors.New("audit integrity violation")

// BlobStore keeps payloads in one Azure Blob Storage container under
// "sha256/<hex>", written once with If-None-Match:*.
type BlobStore struct {
	container *container.Client
}

// NewBlobStore connects with a connection string and creates the container if needed.
func NewBlobStore(ctx context.Context, connectionString, containerName string) (*BlobStore, error) {
	c, err := container.NewClientFromConnectionString(connectionString, containerName, nil)
	if err != nil {
		// The connection string holds an account key: never echo it.
		return nil, fmt.Errorf("blob container %s: invalid connection string", containerName)
	}
	if _, err := c.Create(ctx, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil, fmt.Errorf("create container %s: %w", containerName, err)
	}
	return &BlobStore{container: c}, nil
}

// Hash returns the lowercase hex SHA-256 of data.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Put stores data under its hash. An existing blob of that name is success:
// same name means same content, which the size check backs up cheaply.
func (s *BlobStore) Put(ctx context.Context, data []byte) (models.Ref, error) {
	ref := models.Ref{SHA256: Hash(data), Size: int64(len(data))}
	bb := s.container.NewBlockBlobClient(ref.BlobName())
	_, err := bb.UploadBuffer(ctx, data, &blockblob.UploadBufferOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{
			IfNoneMatch: to.Ptr(azcore.ETagAny),
		}},
	})
	if err == nil {
		return ref, nil
	}
	if !bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return models.Ref{}, fmt.Errorf("upload %s: %w", ref.BlobName(), err)
	}
	props, perr := bb.GetProperties(ctx, nil)
	if perr != nil {
		return models.Ref{}, fmt.Errorf("check existing %s: %w", ref.BlobName(), perr)
	}
	if props.ContentLength == nil || *props.ContentLength != ref.Size {
		return models.Ref{}, fmt.Errorf("existing %s has a different size: %w", ref.BlobName(), ErrIntegrity)
	}
	return ref, nil
}

// Get reads a whole blob and verifies its hash and size.
func (s *BlobStore) Get(ctx context.Context, ref models.Ref) ([]byte, error) {
	data, err := s.read(ctx, ref.BlobName(), nil)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != ref.Size || Hash(data) != ref.SHA256 {
		return nil, fmt.Errorf("read %s: %d bytes hashing %s: %w", ref.BlobName(), len(data), Hash(data), ErrIntegrity)
	}
	return data, nil
}

// GetRange reads one line of a recorded blob and verifies the line's own hash,
// so a single row can be shown and checked without reading the whole file.
func (s *BlobStore) GetRange(ctx context.Context, r models.Range) ([]byte, error) {
	if r.Length == 0 {
		if r.SHA256 != Hash(nil) {
			return nil, fmt.Errorf("read %s: %w", r, ErrIntegrity)
		}
		return []byte{}, nil
	}
	data, err := s.read(ctx, models.BlobName(r.Blob), &blob.HTTPRange{Offset: r.Offset, Count: r.Length})
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != r.Length || Hash(data) != r.SHA256 {
		return nil, fmt.Errorf("read %s: got %d bytes hashing %s, want %s: %w", r, len(data), Hash(data), r.SHA256, ErrIntegrity)
	}
	return data, nil
}

// ReadNamed reads any blob in the container by name, e.g. an input a user
// uploaded as "inputs/rows.csv". Nothing is verified: the caller records it.
func (s *BlobStore) ReadNamed(ctx context.Context, name string) ([]byte, error) {
	return s.read(ctx, name, nil)
}

func (s *BlobStore) read(ctx context.Context, name string, rng *blob.HTTPRange) ([]byte, error) {
	opts := &blob.DownloadStreamOptions{}
	if rng != nil {
		opts.Range = *rng
	}
	resp, err := s.container.NewBlobClient(name).DownloadStream(ctx, opts)
	if err != nil {
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return nil, fmt.Errorf("read %s: blob not found: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if resp.ContentLength != nil && *resp.ContentLength > 0 {
		buf.Grow(int(*resp.ContentLength))
	}
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// ErrNotFound means a named blob does not exist.
var ErrNotFound = errors.New("not found")
